import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import t from 'tap';
import { sampleRunReport } from '../../test/html/sample-report.js';
import { writeBundle } from '../evidence/bundle.js';
import type { ObjectList } from '../evidence/snapshot.js';
import { FORMATS } from '../report/formats.js';
import { render } from '../report/output.js';
import { redactUrlCredentials } from './redact.js';

const PROXY = 'http://agent:s3cr3t-pass@egress-guardian-svc:8080';

t.test('credentials in any URL are replaced, the rest of the URL kept', async (t) => {
  t.equal(redactUrlCredentials(`${PROXY}/x`), 'http://(redacted)@egress-guardian-svc:8080/x');
  t.equal(
    redactUrlCredentials('socks5h://u@p:1080 and https://a:b@203.0.113.10/'),
    'socks5h://(redacted)@p:1080 and https://(redacted)@203.0.113.10/',
  );
  t.equal(
    redactUrlCredentials('{"v":"{\\"url\\":\\"http://u:p@h:1\\"}"}'),
    '{"v":"{\\"url\\":\\"http://(redacted)@h:1\\"}"}',
    'inside JSON in JSON',
  );
  t.equal(
    redactUrlCredentials('https://203.0.113.10/a@b mail: a@b.example'),
    'https://203.0.113.10/a@b mail: a@b.example',
    'an @ after the host is no credential',
  );
});

/** A run whose companion URL carries credentials, as the controller sees it before rendering. */
function reportWithCredentials() {
  const report = sampleRunReport();
  const first = report.results[0];
  if (first === undefined) throw new Error('sample report has no results');
  report.results[0] = { ...first, target: `https://203.0.113.10/ via ${PROXY}`, reason: `HTTP 200 via ${PROXY}` };
  return { ...report, subject: { ...report.subject, companion: PROXY } };
}

t.test('no rendering of a report shows proxy credentials', async (t) => {
  const report = reportWithCredentials();
  for (const format of FORMATS) {
    const text = render(format, report);
    t.notMatch(text, /s3cr3t-pass/, format);
  }
  t.match(render('json', report), /\(redacted\)@egress-guardian-svc:8080/, "the proxy's address is kept");
});

t.test('no file of an evidence bundle shows proxy credentials', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ev-redact-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probePod: KubernetesObject = {
    kind: 'Pod',
    spec: { containers: [{ env: [{ name: 'EGRESS_VERIFY_PLAN', value: JSON.stringify({ checks: [{ companion: { url: PROXY } }] }) }] }] },
  } as KubernetesObject;
  const list = (items: KubernetesObject[]): ObjectList => ({ apiVersion: 'v1', kind: 'List', items });
  writeBundle(join(dir, 'b'), {
    report: reportWithCredentials(),
    snapshot: {
      cluster: { server: 'https://127.0.0.1:6443' },
      networkPolicies: list([]),
      companion: list([]),
      workloads: list([
        { kind: 'Deployment', spec: { containers: [{ env: [{ name: 'HTTPS_PROXY', value: PROXY }] }] } } as KubernetesObject,
      ]),
      probePods: list([probePod]),
      nodes: list([]),
      gaps: [],
    },
    run: {
      tool: { name: 'egress-verify', version: '0', image: 'i' },
      cluster: { server: 'https://127.0.0.1:6443' },
      namespace: 'ns',
      workloads: ['deployment/app'],
      companions: [PROXY],
      runId: 'r',
      startedAt: '2026-11-30T00:00:00.000Z',
      finishedAt: '2026-11-30T00:00:01.000Z',
      ranBy: { host: 'h' },
      arguments: ['run', '--companion', PROXY],
      gaps: [],
    },
  });
  const files = readdirSync(join(dir, 'b'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  t.ok(files.length >= 10);
  for (const f of files) t.notMatch(readFileSync(join(f.parentPath, f.name), 'utf8'), /s3cr3t-pass/, f.name);
});
