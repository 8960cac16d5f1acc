import t from 'tap';
import { CatalogueError } from '../src/errors.js';
import { defaultCatalogue, expandCatalogue, extendCatalogue, parseCatalogue } from './catalogue.js';

const companion = { url: 'http://egress-guardian-svc:8080' };

t.test('the default catalogue expands into a valid plan where every must-fail check has a control', async (t) => {
  const plan = expandCatalogue(defaultCatalogue(), companion);
  const ids = new Set(plan.checks.map((c) => c.id));
  const blocked = plan.checks.filter((c) => c.expect === 'blocked');
  t.ok(blocked.length > 10);
  for (const c of blocked) t.ok(c.control !== undefined && ids.has(c.control), `${c.id} has a control`);
  t.ok(ids.has('dns/resolve/egress-guardian-svc'), 'the companion name must resolve');
  for (const mode of ['env-cleared', 'noproxy']) t.ok(ids.has(`curl/${mode}/cloudflare`));
  t.ok(plan.checks.some((c) => c.kind === 'dns' && c.mode === 'direct' && c.transport === 'tls' && c.port === 853));
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
  const tcp443 = plan.checks.find((c) => c.id === 'tcp/site/203.0.113.10:443');
  t.equal(tcp443?.control, 'proxy-connect/site/203.0.113.10:443', 'the control dials the same literal address');
  const curl = plan.checks.find((c) => c.id === 'curl/env-cleared/site');
  t.match(curl, { address: '203.0.113.10', control: 'proxy-https/site' });
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
