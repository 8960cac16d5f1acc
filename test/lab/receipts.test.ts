/**
 * Inspection receipts, the probe's side, against real companions: the probe marks each proxied
 * request; an intercepting companion's own log shows every marker in its preset's format, and a
 * CONNECT-only one shows none (it never saw the request, only the tunnel). Needs root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import { markPlan } from '../../probes/base/receipt.js';
import { LOG_FORMATS, type LogFormatName, markersSeen, receiptFindings, receiptsOf } from '../../src/controller/receipts.js';
import type { CompanionKind } from './companions.js';
import { builtCli } from './harness.js';
import { startLab } from './lab.js';
import { APP_ENV, labPlan } from './plan.js';

t.setTimeout(600_000);
const cli = builtCli();
const scratch = mkdtempSync(join(tmpdir(), 'evl-receipts-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const CASES: { companion: CompanionKind; format: LogFormatName; inspects: boolean }[] = [
  { companion: 'mitmproxy', format: 'mitmproxy', inspects: true },
  { companion: 'squid-bump', format: 'squid', inspects: true },
  { companion: 'squid', format: 'squid', inspects: false },
];

for (const { companion, format, inspects } of CASES) {
  t.test(
    `${companion}: ${inspects ? 'every request that went through is in its log' : 'a tunnel only: no request is in its log'}`,
    async (t) => {
      const lab = await startLab({ companion });
      t.teardown(() => lab.close());
      const plan = markPlan(labPlan(lab), `receipts-${companion}`, 0);
      const planFile = join(scratch, `plan-${companion}.json`);
      const reportFile = join(scratch, `report-${companion}.json`);
      writeFileSync(planFile, JSON.stringify(plan));
      await lab.exec(['node', cli, 'probe', '--plan', planFile, '-o', `json=${reportFile}`], {
        env: { ...APP_ENV, NODE_EXTRA_CA_CERTS: lab.outsideCaFile },
        timeoutMs: 120_000,
      });
      const results = (JSON.parse(readFileSync(reportFile, 'utf8')) as { results: CheckResult[] }).results;
      const marked = [{ workload: 'lab', companion: 'http://egress-guardian-svc:3128', plan }];
      const receipts = receiptsOf(
        marked,
        results.map((r) => ({ ...r, workload: 'lab' })),
        markersSeen(await lab.companionLog(), LOG_FORMATS[format]),
      );
      const through = receipts.filter((r) => r.status !== 'not-through');
      t.ok(
        through.length >= 2,
        `the site and the application path went through: ${receipts.map((r) => `${r.check} ${r.status}`).join(', ')}`,
      );
      for (const r of through) t.equal(r.status, inspects ? 'seen' : 'unseen', `${r.check} (${r.marker})`);
      const findings = receiptFindings(receipts, new Map(), true, 'lab');
      if (inspects) t.same(findings, [], 'no finding');
      else
        t.match(
          findings,
          [{ ruleId: 'inspection-not-logged', decides: 'fail' }],
          'inspection-not-logged fails the run when receipts are asked for',
        );
    },
  );
}
