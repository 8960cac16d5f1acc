/**
 * Credentials in proxy URLs (`http://user:pass@proxy:8080`) are needed to reach the companion but
 * must never be written where people outside the team read: reports, renderings, the evidence
 * bundle. One function, applied where text leaves the program.
 */

export const REDACTED_USERINFO = '(redacted)';

/** scheme://USERINFO@ → scheme://(redacted)@, anywhere in the text (inside JSON strings too). */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\<>]+@/gi, `$1${REDACTED_USERINFO}@`);
}

/** For structured values: the same redaction over every string in it. */
export function redactCredentialsIn<T>(value: T): T {
  return JSON.parse(redactUrlCredentials(JSON.stringify(value))) as T;
}
