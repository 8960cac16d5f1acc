/**
 * The probe plan for the lab: the article's architecture, lab targets only. Shared by the
 * scenario tests, the demo and the benchmark.
 */
import { type Catalogue, expandCatalogue } from '../../probes/catalogue.js';
import type { ProbePlan } from '../../probes/model.js';
import { validatePlan } from '../../probes/plan.js';
import { COMPANIONS } from './companions.js';
import type { Lab } from './lab.js';
import { COMPANION_PORTS } from './topology.js';

/** The companion as the article's workload names it: the Service's short name, via the search list. */
const COMPANION_NAME = 'egress-guardian-svc';

/** The lab's origins mark every answer with the service's name: a companion's own page lacks it. */
const origin = (service: string) => ({ status: ['2xx'], header: { name: 'x-lab-origin', value: service } });

export interface LabPlanOptions {
  /**
   * Whether the probe is told the companion's CA (and so verifies interception). By default when
   * the lab's companion intercepts TLS; a non-intercepting one is judged without it.
   */
  expectInterception?: boolean;
}

/** Lab targets only: the product's default catalogue (public resolvers...) is never dialled here. */
export function labPlan(lab: Lab, extra: Partial<Catalogue> = {}, opts: LabPlanOptions = {}): ProbePlan {
  const { addr, names } = lab;
  const def = COMPANIONS[lab.companion];
  const intercepts = opts.expectInterception ?? def.intercepts;
  const catalogue: Catalogue = {
    version: 1,
    // Room for a Python companion (mitmproxy) on a loaded 2-core machine to answer.
    deadlineMs: 3000,
    outside: [
      {
        name: 'site',
        url: `https://${names.outside}/`,
        address: addr.outsideHttps,
        address6: addr.outsideHttps6,
        tcpPorts: [443, 80],
        udpPorts: [443],
        udpResponder: true,
        origin: origin('outside-https'),
      },
    ],
    resolvers: [
      {
        address: addr.outsideResolver,
        transports: ['udp', 'tcp', 'tls'],
        url: `https://${names.resolverHttps}/`,
        origin: origin('resolver-https'),
      },
    ],
    queryName: names.outside,
    clusterNames: [names.kubernetes],
    internal: [
      { name: 'cloud-metadata', host: addr.metadata, port: 80 },
      { name: 'node', host: addr.node, port: 10250 },
      { name: 'api-server', host: addr.apiServer, port: 6443 },
      { name: 'companion-other', host: addr.companion, port: 9090 },
    ],
    application: [`https://${names.outside}/`],
    applicationOrigin: origin('outside-https'),
    ...extra,
  };
  const plan = expandCatalogue(
    catalogue,
    { url: `http://${COMPANION_NAME}:${COMPANION_PORTS.http}` },
    intercepts ? lab.companionCaPem : undefined,
  );
  if (!def.socks) return plan;
  const socks = {
    id: 'proxy-https/site/socks5h',
    kind: 'proxy-https' as const,
    expect: 'reachable' as const,
    deadlineMs: catalogue.deadlineMs ?? 3000,
    url: `https://${names.outside}/`,
    companion: { url: `socks5h://${COMPANION_NAME}:${COMPANION_PORTS.socks5}` },
    origin: origin('outside-https'),
  };
  return validatePlan({ ...plan, checks: [...plan.checks, socks] }, 'lab plan');
}

/** The application's own environment, as the article's data-processor Deployment sets it. */
export const APP_ENV = { HTTPS_PROXY: `http://${COMPANION_NAME}:${COMPANION_PORTS.http}`, NO_PROXY: 'localhost,127.0.0.1,.cluster.local' };
