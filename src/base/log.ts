import { pino } from 'pino';

/**
 * Logs go to stderr: stdout carries TAP or JSON. Synchronous so lines survive process.exit().
 * Credentials that can appear in proxy URLs and headers are redacted.
 */
export const log = pino(
  {
    name: 'egress-verify',
    level: process.env.EGRESS_VERIFY_LOG_LEVEL ?? 'warn',
    redact: { paths: ['*.authorization', '*.proxy-authorization', '*.password', '*.token', 'companionCa'], censor: '[redacted]' },
  },
  pino.destination({ dest: 2, sync: true }),
);
