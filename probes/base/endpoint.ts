/** Host, port and protocol a check's traffic goes to, for matching a control to its check. */
export interface Endpoint {
  host: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'icmp';
}

export function urlEndpoint(url: string): Endpoint {
  const u = new URL(url);
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, protocol: 'tcp' };
}
