/**
 * Credentials in a URL (`http://user:pass@proxy:8080`): what a client sends to a proxy or a
 * Pushgateway that asks for them, and the URL without them for anything shown.
 */

/** The user and password of a proxy URL (`http://user:pass@proxy:8080`), decoded; none without a user. */
export function proxyCredentials(url: URL): { user: string; password: string } | undefined {
  if (url.username === '') return undefined;
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/** The URL as it may be shown: no user or password. */
export function withoutCredentials(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href;
}

/** `Basic …` for the credentials of a URL, as proxies (407) and Pushgateways read them. */
export function basicAuthorization(url: URL): string | undefined {
  const creds = proxyCredentials(url);
  return creds && `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
}
