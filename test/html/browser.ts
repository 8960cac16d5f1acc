// Debian's Chromium, headless, for the tests that render the HTML report: only file:// URLs,
// nothing of Chromium's own on the network, every wait bounded.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.EV_CHROMIUM ?? '/usr/bin/chromium';
export const WAIT_MS = 15_000;

/**
 * Never skipped silently: without Chromium the suite fails, unless the skip was asked for by name
 * (EGRESS_VERIFY_SKIP=html), and then it says why.
 */
export function browserSkip(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `no Chromium at ${CHROMIUM}; install the Debian package chromium (scripts/setup.sh does)`;
  if ((process.env.EGRESS_VERIFY_SKIP ?? '').split(',').includes('html')) return `EGRESS_VERIFY_SKIP=html: ${reason}`;
  throw new Error(`HTML report tests cannot run: ${reason} (set EGRESS_VERIFY_SKIP=html to skip them on purpose)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    // No background traffic of Chromium's own: the only request is the report file.
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
}

/** Opens an HTML file offline and records every request the page makes. */
export async function openFile(browser: Browser, file: string): Promise<{ page: Page; url: string; requests: string[] }> {
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  // Should the page ever ask for more than the file, the request fails here instead of going out.
  await context.route(/^(?!file:)/, (route) => route.abort('blockedbyclient'));
  await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  return { page, url, requests };
}
