/**
 * The probe plan for the lab: the article's architecture, lab targets only. Shared by the
 * scenario tests, the demo and the benchmark.
 */
import { type Catalogue, expandCatalogue } from '../../probes/catalogue.js';
import type { ProbePlan } from '../../probes/model.js';
import { validatePlan } from '../../probes/plan.js';
import type { Lab } from './lab.js';

/** The companion as the article's workload names it: the Service's short name, via the search list. */
const COMPANION_NAME = 'egress-guardian-svc';

/** Lab targets only: the product's default catalogue (public resolvers...) is never dialled here. */
export function labPlan(lab: Lab, extra: Partial<Catalogue> = {}): ProbePlan {
  const { addr, names } = lab;
  const catalogue: Catalogue = {
    version: 1,
    deadlineMs: 1500,
    outside: [
      {
        name: 'site',
        url: `https://${names.outside}/`,
        address: addr.outsideHttps,
        address6: addr.outsideHttps6,
        tcpPorts: [443, 80],
        udpPorts: [443],
      },
    ],
    resolvers: [{ address: addr.outsideResolver, transports: ['udp', 'tcp', 'tls'] }],
    queryName: names.outside,
    clusterNames: [names.kubernetes],
    internal: [
      { name: 'cloud-metadata', host: addr.metadata, port: 80 },
      { name: 'node', host: addr.node, port: 10250 },
      { name: 'api-server', host: addr.apiServer, port: 6443 },
      { name: 'companion-other', host: addr.companion, port: 9090 },
    ],
    application: [`https://${names.outside}/`],
    ...extra,
  };
  const plan = expandCatalogue(catalogue, { url: `http://${COMPANION_NAME}:8080` }, lab.companionCaPem);
  const socks = {
    id: 'proxy-https/site/socks5h',
    kind: 'proxy-https' as const,
    expect: 'reachable' as const,
    deadlineMs: 1500,
    url: `https://${names.outside}/`,
    companion: { url: `socks5h://${COMPANION_NAME}:1080` },
  };
  return validatePlan({ ...plan, checks: [...plan.checks, socks] }, 'lab plan');
}

/** The application's own environment, as the article's data-processor Deployment sets it. */
export const APP_ENV = { HTTPS_PROXY: `http://${COMPANION_NAME}:8080`, NO_PROXY: 'localhost,127.0.0.1,.cluster.local' };
