/**
 * The probe plan for the lab: the article's architecture, lab targets only. Shared by the
 * scenario tests, the demo and the benchmark.
 */

import type { ProbePlan } from '../../probes/base/model.js';
import { type Catalogue, expandCatalogue } from '../../probes/catalogue.js';
import { validatePlan } from '../../probes/plan.js';
import { COMPANIONS } from './companions.js';
import type { Lab, ProxyAuth } from './lab.js';
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
  /** The credentials the workload sends, in its companion URLs. */
  auth?: ProxyAuth;
}

/** The companion's URL as the workload names it (the Service's short name), with its credentials. */
export function companionUrl(scheme: 'http' | 'socks5h', auth?: ProxyAuth): string {
  const userinfo = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@` : '';
  return `${scheme}://${userinfo}${COMPANION_NAME}:${scheme === 'http' ? COMPANION_PORTS.http : COMPANION_PORTS.socks5}`;
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
  const plan = expandCatalogue(catalogue, { url: companionUrl('http', opts.auth) }, intercepts ? lab.companionCaPem : undefined);
  if (!def.socks) return plan;
  const socks = {
    id: 'proxy-https/site/socks5h',
    kind: 'proxy-https' as const,
    expect: 'reachable' as const,
    deadlineMs: catalogue.deadlineMs ?? 3000,
    url: `https://${names.outside}/`,
    companion: { url: companionUrl('socks5h', opts.auth) },
    origin: origin('outside-https'),
  };
  return validatePlan({ ...plan, checks: [...plan.checks, socks] }, 'lab plan');
}

/** The application's own environment, as the article's data-processor Deployment sets it. */
export function appEnv(auth?: ProxyAuth): Record<string, string> {
  return { HTTPS_PROXY: companionUrl('http', auth), NO_PROXY: 'localhost,127.0.0.1,.cluster.local' };
}

export const APP_ENV = appEnv();
