/**
 * The Service a host name stands for, as a pod's cluster DNS resolves it: `name` (the pod's own
 * namespace), `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`. The one resolver for
 * `run` (the companion, its receipts, the evidence snapshot) and the audit. Any other suffix is
 * not taken for a Service: with the default ndots a name like `name.ns.svc.example.com` falls
 * through the search path to public DNS, and a companion that is not the Service must not be
 * credited as one.
 */
import { isIP } from 'node:net';

export interface ServiceName {
  name: string;
  namespace: string;
}

export function serviceNamed(host: string, fromNamespace: string): ServiceName | undefined {
  if (host === '' || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return undefined;
  const [name, namespace, svc, ...rest] = host.split('.');
  if (name === undefined || name === '' || /^\d+$/.test(name)) return undefined;
  if (namespace === undefined) return { name, namespace: fromNamespace };
  if (namespace === '' || (svc !== undefined && svc !== 'svc')) return undefined;
  if (rest.length > 0 && rest.join('.') !== 'cluster.local') return undefined;
  return { name, namespace };
}
