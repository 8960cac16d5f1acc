// For tests that need a CA of their own: a self-signed P-256 CA for one day, made by openssl.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Writes DIR/k.pem (key) and DIR/c.pem (certificate); returns their paths. */
export function throwawayCa(dir: string, commonName: string): { key: string; cert: string } {
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${commonName}`,
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
