/** The contract between lab.ts and hosts.mjs: which small servers to run, and what they answer. */

/** What an HTTP(S) service answers: the internet host echoes the request back as JSON. */
export type HostReply = 'echo' | 'kubelet' | 'apiserver' | 'metadata';

export type HostService =
  | { kind: 'http'; name: string; host: string; port: number; reply: HostReply }
  | { kind: 'https'; name: string; host: string; port: number; reply: HostReply; certFile: string; keyFile: string }
  | { kind: 'tcp-echo'; name: string; host: string; port: number }
  | { kind: 'udp-echo'; name: string; host: string; port: number }
  | {
      kind: 'dot';
      name: string;
      host: string;
      port: number;
      certFile: string;
      keyFile: string;
      upstreamHost: string;
      upstreamPort: number;
    };

/** The body the internet host answers with; probes can read `remote` to see which path they took. */
export interface EchoBody {
  service: string;
  remote: string;
  method: string;
  url: string;
  host: string | null;
  headers: Record<string, string | string[] | undefined>;
}
