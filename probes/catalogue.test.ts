import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import t from 'tap';
import { CatalogueError } from '../src/base/errors.js';
import { CANARY_SECRET_VALUE, defaultCatalogue, expandCatalogue, extendCatalogue, parseCatalogue } from './catalogue.js';
import { ipv6OnlyChecks, sendsIpv6 } from './ipv6.js';
import { endpointOf } from './kinds.js';
import { validatePlan } from './plan.js';
import { controlCovers } from './verdict.js';

const companion = { url: 'http://egress-guardian-svc:8080' };

t.test('the default catalogue expands into a valid plan where every must-fail check has a control', async (t) => {
  const plan = expandCatalogue(defaultCatalogue(), companion);
  const ids = new Set(plan.checks.map((c) => c.id));
  const blocked = plan.checks.filter((c) => c.expect === 'blocked');
  t.ok(blocked.length > 10);
  for (const c of blocked) {
    if (c.id.startsWith('tcp/cloud-metadata/') || c.kind === 'icmp')
      t.equal(c.controlFrom, 'direct', `${c.id}: internal or ICMP, proven only by a direct observer`);
    else t.ok(c.control !== undefined && ids.has(c.control), `${c.id} has a control`);
  }
  for (const c of plan.checks.filter((c) => c.kind === 'proxy-connect'))
    t.match(c, { purpose: 'control', proof: /^(dns|dot|http|banner)$/ });
  t.ok(ids.has('dns/resolve/egress-guardian-svc'), 'the companion name must resolve');
  for (const mode of ['env-cleared', 'noproxy']) t.ok(ids.has(`curl/${mode}/cloudflare`));
  t.ok(plan.checks.some((c) => c.kind === 'dns' && c.mode === 'direct' && c.transport === 'tls' && c.port === 853));
  t.ok(ids.has('icmp/cloudflare/1.1.1.1'), 'the outside targets are pinged');
});

t.test('issue 13: the default catalogue dials IPv6 targets and resolvers, each with an IPv6 control', async (t) => {
  const plan = expandCatalogue(defaultCatalogue(), companion);
  const byId = new Map(plan.checks.map((c) => [c.id, c]));
  const v6 = plan.checks.filter((c) => c.expect === 'blocked' && sendsIpv6(c));
  for (const kind of ['tcp', 'udp', 'icmp', 'curl'] as const)
    t.ok(
      v6.some((c) => c.kind === kind),
      `an IPv6 ${kind} check`,
    );
  for (const transport of ['udp', 'tcp', 'tls'])
    t.ok(
      v6.some((c) => c.kind === 'dns' && c.mode === 'direct' && c.transport === transport),
      `IPv6 resolvers over ${transport}`,
    );
  for (const c of v6) {
    if (c.controlFrom === 'direct') continue;
    const control = c.control === undefined ? undefined : byId.get(c.control);
    // The control dials the same IPv6 address (never a v4 stand-in) and exists only as a control.
    t.ok(control && isIPv6(endpointOf(control)?.host ?? '') && controlCovers(c, control), `${c.id}: an IPv6 control`);
    t.equal(control?.purpose, 'control', `${c.id}: its control is not the cluster's allowed path`);
  }
  // Without an IPv6 address the pod skips exactly these, and every IPv4 check still runs.
  const skipped = ipv6OnlyChecks(plan);
  for (const c of plan.checks) t.equal(skipped.has(c.id), /-v6\b|::/.test(c.id), c.id);
});

t.test('extending adds targets and keeps the defaults', async (t) => {
  const extra = parseCatalogue('version: 1\ninternal:\n  - { name: api, host: 10.96.0.1, port: 443 }\n', 'extra.yaml');
  const plan = expandCatalogue(extendCatalogue(defaultCatalogue(), extra), companion);
  t.ok(plan.checks.some((c) => c.id === 'tcp/api/10.96.0.1:443'));
  t.ok(plan.checks.some((c) => c.id === 'tcp/cloud-metadata/169.254.169.254:80'));
});

t.test('a URL that names a host is pinned to its literal address for raw sockets', async (t) => {
  const cat = parseCatalogue(
    'version: 1\noutside:\n  - { name: site, url: "https://outside.test/", address: 203.0.113.10, tcpPorts: [443, 80] }\n',
    'lab.yaml',
  );
  const plan = expandCatalogue(cat, companion);
  for (const id of ['tcp/site/203.0.113.10:443', 'tcp/site/203.0.113.10:80', 'curl/env-cleared/site']) {
    t.equal(plan.checks.find((c) => c.id === id)?.control, 'proxy-https/site', `${id}: the control goes by name`);
  }
  t.match(
    plan.checks.find((c) => c.id === 'proxy-https/site'),
    { pairedAddresses: ['203.0.113.10'] },
    'the name is paired with the address',
  );
  t.notOk(
    plan.checks.some((c) => c.kind === 'proxy-connect'),
    'no tunnel to a literal address: a hostname-allowlist companion refuses those',
  );
});

t.test('a literal-address target gets tunnel controls that make the origin answer', async (t) => {
  const cat = parseCatalogue(
    'version: 1\noutside:\n  - { name: lit, url: "https://203.0.113.10/", tcpPorts: [443, 80, 22], udpPorts: [443], udpResponder: true }\n',
    'lit.yaml',
  );
  const plan = expandCatalogue(cat, companion);
  t.match(
    plan.checks.find((c) => c.id === 'proxy-connect/lit/203.0.113.10:80'),
    { proof: 'http', purpose: 'control' },
  );
  t.match(
    plan.checks.find((c) => c.id === 'proxy-connect/lit/203.0.113.10:22'),
    { proof: 'banner' },
  );
  t.match(
    plan.checks.find((c) => c.id === 'udp/lit/203.0.113.10:443'),
    { responder: true, control: 'proxy-https/lit' },
  );
});

t.test('a resolver with a URL is controlled by it, paired with its address', async (t) => {
  const cat = parseCatalogue(
    'version: 1\nresolvers:\n  - { address: 198.51.100.53, url: "https://dns.outside.test/", origin: { status: ["2xx"], header: { name: x-origin, value: dns } } }\n',
    'r.yaml',
  );
  const plan = expandCatalogue(cat, companion);
  const ctl = 'proxy-https/resolver/198.51.100.53';
  t.match(
    plan.checks.find((c) => c.id === ctl),
    { purpose: 'control', pairedAddresses: ['198.51.100.53'], origin: { header: { value: 'dns' } } },
  );
  for (const c of plan.checks.filter((c) => c.kind === 'dns' && c.mode === 'direct')) t.equal(c.control, ctl, c.id);
});

t.test('recursion without an authoritative server has no control (so never a pass)', async (t) => {
  const plan = expandCatalogue(parseCatalogue('version: 1\nrecursion: { zone: exfil.example }\n', 'r.yaml'), companion);
  const check = plan.checks.find((c) => c.id === 'dns/recursion/exfil.example');
  t.ok(check);
  t.equal(check?.control, undefined);
});

t.test('bad catalogues are one-line CatalogueErrors', async (t) => {
  t.throws(() => parseCatalogue('version: 1\noutside: [', 'x.yaml'), CatalogueError);
  t.throws(() => parseCatalogue('version: 1\noutside: [{ name: a }]', 'x.yaml'), { message: /x.yaml: invalid catalogue at \/outside\/0/ });
  t.throws(() => parseCatalogue('version: 1\nfoo: 1', 'x.yaml'), CatalogueError);
  // Every host field is a name or an address at the catalogue too, before it becomes a plan.
  for (const bad of [
    'internal: [{ name: a, host: "203.0.113.1\\r\\nX: y", port: 80 }]',
    'resolvers: [{ address: "a b" }]',
    'outside: [{ name: a, url: "https://203.0.113.1/", address: "x\\ny" }]',
    'application: ["https://203.0.113.1/ HTTP/1.1"]',
    'clusterNames: ["a/b"]',
  ])
    t.throws(
      () => parseCatalogue(`version: 1\n${bad}`, 'x.yaml'),
      { message: /x.yaml: invalid catalogue at \/\w+\/0.*must match pattern/ },
      bad,
    );
  t.throws(
    () => expandCatalogue(parseCatalogue('version: 1\ninternal: [{ name: a, host: metadata.local, port: 80 }]', 'x.yaml'), companion),
    {
      message: /not a literal IP/,
    },
  );
});

t.test("the companion's CA travels once per plan, whatever the number of checks that trust it", async (t) => {
  // A 4-certificate chain: copied into every proxy check, it took a plan past the 128 KiB
  // an environment variable holds after a handful of extended targets.
  const cert = `-----BEGIN CERTIFICATE-----\n${'MIIF'.repeat(480)}\n-----END CERTIFICATE-----\n`;
  const chain = cert.repeat(4);
  const extra = parseCatalogue(
    `version: 1\noutside:\n${[1, 2, 3, 4, 5, 6]
      .map((i) => `  - { name: x${i}, url: "https://198.51.100.${i}/", tcpPorts: [443, 80, 8443], udpPorts: [443] }\n`)
      .join('')}application: ["https://198.51.100.1/"]\n`,
    'extra.yaml',
  );
  const plan = expandCatalogue(extendCatalogue(defaultCatalogue(), extra), companion, chain);
  const json = JSON.stringify(plan);
  t.equal(json.split('BEGIN CERTIFICATE').length - 1, 4, 'the chain appears once');
  t.equal(plan.companionCa, chain);
  t.ok(plan.checks.filter((c) => c.kind === 'proxy-https' || c.kind === 'proxy-connect').length > 10);
  t.ok(Buffer.byteLength(json) < 64 * 1024, `${Buffer.byteLength(json)} bytes`);
});

t.test('mustDeny: one canary per entry, the secret defaulted to a fake AWS key, no control', async (t) => {
  const extra = parseCatalogue(readFileSync(new URL('../test/cluster/canary.yaml', import.meta.url), 'utf8'), 'canary.yaml');
  const cat = parseCatalogue(
    'version: 1\nmustDeny:\n  - { name: metadata, url: "http://169.254.169.254/" }\n  - { name: form, url: "https://203.0.113.10/", secret: { in: body } }\n',
    'm.yaml',
  );
  const canaries = expandCatalogue(extendCatalogue(cat, extra), companion).checks.filter((c) => c.kind === 'canary');
  t.match(canaries, [
    { id: 'canary/metadata', expect: 'blocked', url: 'http://169.254.169.254/', companion },
    { id: 'canary/form', secret: { in: 'body', name: 'api_key', value: CANARY_SECRET_VALUE } },
    { id: 'canary/aws-key-in-header', secret: { in: 'header', name: 'x-api-key' }, origin: { body: 'egress-verify outside site' } },
    { id: 'canary/aws-key-in-query', secret: { in: 'query', name: 'aws_access_key_id' } },
  ]);
  t.equal(canaries.length, 4);
  t.ok(
    canaries.every((c) => c.control === undefined && c.controlFrom === undefined),
    "a canary's evidence is the refusal",
  );
  t.throws(
    () => parseCatalogue('version: 1\nmustDeny: [{ name: x, url: "https://a.test/", secret: { in: cookie } }]', 'x.yaml'),
    CatalogueError,
  );
  t.throws(
    () => validatePlan({ version: 1, checks: [{ ...canaries[0], expect: 'reachable' }] }, 'p'),
    /invalid plan/,
    'a canary expects blocked',
  );
});
