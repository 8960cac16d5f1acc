// The HTML report in a real headless Chromium: what an auditor sees, that it loads nothing, and
// that hostile strings from the cluster stay text. Only file:// URLs; every wait is bounded.
// biome-ignore-all lint/performance/useDomNodeTextContent: the test reads what the auditor sees, rendered text after CSS (uppercase verdicts)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { renderHtml } from '../../src/report/html.js';
import type { Report } from '../../src/report/report.js';
import { browserSkip, launchChromium, openFile, WAIT_MS } from './browser.js';
import { PODS, sampleRunReport } from './sample-report.js';

// Runs in the page: the tests are type-checked without the DOM library.
declare const getComputedStyle: (element: unknown) => { backgroundColor: string };

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOT = join(REPO_ROOT, 'test-artifacts/report.png');

const skip = browserSkip();
if (skip) t.plan(0, skip);
else {
  const dir = mkdtempSync(join(tmpdir(), 'ev-html-'));
  let browser: Browser;
  t.before(async () => {
    browser = await launchChromium();
  });
  t.teardown(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the report's HTML to a file and opens it. */
  async function open(report: Report, name: string): Promise<{ page: Page; url: string; requests: string[] }> {
    const file = join(dir, `${name}.html`);
    writeFileSync(file, renderHtml(report));
    return openFile(browser, file);
  }

  t.test('the sample run report, as an auditor sees it', { timeout: 60_000 }, async (t) => {
    const { page, url, requests } = await open(sampleRunReport(), 'report');
    t.teardown(() => page.context().close());

    const banner = page.locator('#verdict');
    t.equal(await banner.getAttribute('class'), 'verdict verdict-fail');
    t.equal(await banner.locator('h1').innerText(), 'FAIL');
    t.match(await banner.innerText(), /1 bypass: traffic got out a way it must not\./);
    t.match(await banner.innerText(), /production-agents\/deployment\/data-processor/);

    t.match(await page.locator('#subject').innerText(), /Run ID\s+ev-7f3c9/);
    t.match(await page.locator('#summary').innerText(), /15\s+checks\s+1\s+fail\s+1\s+error\s+2\s+inconclusive\s+11\s+pass/);

    const matrix = page.locator('#matrix');
    t.equal(await matrix.locator('tbody tr').count(), 8, 'one row per distinct check');
    const headers = await matrix.locator('thead th.pod').allInnerTexts();
    t.equal(headers.length, 2, 'one column per probe pod');
    t.match(headers[0], new RegExp(`${PODS[0].name}\\s+node-a`));
    t.match(headers[1], new RegExp(`${PODS[1].name}\\s+node-b`));

    const row = (id: string) => matrix.locator('tbody tr', { has: page.locator('code.check-id', { hasText: id }) });
    const cell = (id: string, pod: 0 | 1) => row(id).locator('td').nth(pod);
    const bypass = cell('curl/env-cleared/site', 1);
    const blocked = cell('curl/env-cleared/site', 0);
    t.equal(await bypass.getAttribute('class'), 'cell-fail');
    t.equal(await bypass.getAttribute('data-verdict'), 'fail');
    t.match(await bypass.innerText(), /FAIL\s+http-response/, 'the word is in the cell, not only the colour');
    t.equal(await bypass.getAttribute('title'), 'bypass: the target answered on a path that must be blocked');
    t.equal(await blocked.getAttribute('class'), 'cell-pass');
    t.match(await blocked.innerText(), /PASS\s+timeout/);
    t.equal(await cell('udp/site/203.0.113.10:443', 0).getAttribute('class'), 'cell-inconclusive');
    t.equal(await cell('dns/direct/198.51.100.53:53/udp', 1).getAttribute('class'), 'cell-error');
    t.equal(await cell('dns/direct/198.51.100.53:853/tls', 1).getAttribute('class'), 'cell-none');
    const background = (l: typeof bypass) => l.evaluate((el) => getComputedStyle(el).backgroundColor);
    const [failColour, passColour, noneColour] = [
      await background(bypass),
      await background(blocked),
      await background(cell('dns/direct/198.51.100.53:853/tls', 1)),
    ];
    t.not(failColour, passColour, `fail ${failColour} and pass ${passColour} look different`);
    t.not(failColour, 'rgba(0, 0, 0, 0)', 'a fail cell is coloured');
    t.not(noneColour, failColour);

    // The fail cell links to its details, within the page.
    await bypass.locator('a').click({ timeout: WAIT_MS });
    t.match(page.url(), /#r\d+$/);
    const details = page.locator('#details');
    t.equal(await details.locator('article').count(), 5, 'four non-pass results and one pass with a finding');
    t.match(
      await details.locator('article').first().innerText(),
      /FAIL[\s\S]*curl\/env-cleared\/site[\s\S]*node-b[\s\S]*HTTP 200 from 203\.0\.113\.10/,
    );
    t.match(await details.innerText(), /interception-unverified: the companion's CA was not given/);

    const changes = await page.locator('#changes').innerText();
    t.match(changes, /Changes since 2026-11-26T09:14:02\.000Z/);
    t.match(changes, /New bypasses \(1\)\s+curl\/env-cleared\/site @node-b PASS → FAIL/i);
    t.match(changes, /Fixed \(2\)/);
    const findings = await page.locator('#findings').innerText();
    t.match(findings, /HIGH\s+proxy-advisory-only\s+Deployment\/production-agents\/legacy-batch/i);
    t.match(findings, /manifests\/batch\/policy\.yaml:12/);
    t.match(findings, /Fix: Add an Egress NetworkPolicy/);
    t.match(await page.locator('#warnings').innerText(), /kube-router v2\.1\.0/);
    const policies = page.locator('#policies');
    t.equal(await policies.locator('pre').count(), 2);
    t.match(
      await policies.innerText(),
      /allow-companion-internet[\s\S]*cidr: 0\.0\.0\.0\/0[\s\S]*restrict-workload-egress[\s\S]*k8s-app: kube-dns/,
    );

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: WAIT_MS });
    t.comment(`screenshot of the sample report: ${SCREENSHOT}`);
    t.same(requests, [url], 'the page made no request but for its own file');
  });

  t.test('hostile strings from the cluster stay text and never run', { timeout: 60_000 }, async (t) => {
    const payload = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
    const report = sampleRunReport();
    const [first, ...rest] = report.results;
    if (!first) throw new Error('the sample report has results');
    report.results = [{ ...first, reason: payload, target: `"><b id="injected">x</b>` }, ...rest];
    report.warnings = [payload];
    report.subject = {
      ...report.subject,
      workload: payload,
      networkPolicies: [{ name: payload, spec: { podSelector: { matchLabels: { app: payload } } } }],
    };
    const { page, url, requests } = await open(report, 'hostile');
    t.teardown(() => page.context().close());
    // A script that ran would have set the title to "pwned"; it is the escaped text, unchanged.
    t.equal(await page.title(), `egress-verify run: FAIL — production-agents/${payload}`);
    t.equal(await page.locator('img').count(), 0, 'no <img> was created');
    t.equal(await page.locator('script').count(), 0);
    t.equal(await page.locator('#injected').count(), 0);
    t.match(await page.locator('#warnings').innerText(), payload, 'the payload is shown as text');
    t.equal(await page.locator('#matrix tbody td').first().getAttribute('title'), payload);
    t.same(requests, [url]);
  });
}
