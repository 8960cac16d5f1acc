import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
import { ExitCode } from './base/errors.js';
import { packageRoot, readPackageFile } from './base/package-root.js';

/** The manual: the README and its pages in docs/. */
const pages = [
  'README.md',
  ...readdirSync(join(packageRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown outside code fences and code spans, where a link is a link. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, (span) => (span.includes('](') ? '' : span));
}

/** The anchors GitHub gives a page: explicit `<a id>` and a slug per heading. */
function anchors(text: string): Set<string> {
  const ids = [...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1] ?? '');
  const slugs = [...prose(text).matchAll(/^#+ (.+)$/gm)].map((m) =>
    (m[1] ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-'),
  );
  return new Set([...ids, ...slugs]);
}

t.test('every relative link in the manual points to an existing file and anchor', async (t) => {
  let links = 0;
  for (const page of pages) {
    const text = readPackageFile(page);
    for (const [, target = ''] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      links++;
      const [path = '', fragment] = target.split('#');
      const file = path === '' ? page : relative(packageRoot, join(packageRoot, dirname(page), path));
      t.ok(existsSync(join(packageRoot, file)), `${page}: ${target} exists`);
      if (fragment !== undefined && file.endsWith('.md') && existsSync(join(packageRoot, file)))
        t.ok(anchors(readPackageFile(file)).has(fragment), `${page}: ${target} names an anchor of ${file}`);
    }
  }
  t.ok(links > 10, `the manual links its pages (${links} links)`);
});

/** The `| code | meaning |` rows of the first table after `heading` in `page`. */
function codeTable(page: string, heading: string): Map<number, string> {
  const text = readPackageFile(page);
  const from = text.indexOf(heading);
  const rows = text
    .slice(from)
    .split('\n')
    .filter((line) => /^\| \d \|/.test(line));
  const table = new Map<number, string>();
  for (const row of rows) {
    const [, code = '', meaning = ''] = /^\| (\d) \| (.*) \|$/.exec(row) ?? [];
    if (table.has(Number(code))) break;
    table.set(Number(code), meaning);
  }
  return table;
}

t.test('the exit-code tables match ExitCode and what evidence verify returns', async (t) => {
  const codes = codeTable('docs/verdict.md', '# Exit codes');
  t.same([...codes.keys()].slice(0, 5), Object.values(ExitCode), 'one row per exit code, in order');
  t.match(codes.get(ExitCode.usage), /usage error/);
  t.match(codes.get(ExitCode.inconclusive), /inconclusive/);
  t.match(codes.get(ExitCode.infrastructure), /infrastructure/);
  const summary = Object.entries(ExitCode)
    .map(([name, code]) => `${code} ${name}`)
    .join(', ');
  t.ok(readPackageFile('README.md').includes(`Exit codes: ${summary}.`), `the README says "Exit codes: ${summary}."`);
  const verify = codeTable('docs/verdict.md', '| `evidence verify` | meaning |');
  t.same([...verify.keys()], [ExitCode.pass, ExitCode.fail, ExitCode.inconclusive]);
  // The wording src/commands/evidence.test.ts asserts for each.
  t.match(verify.get(ExitCode.pass), /^verified/);
  t.match(verify.get(ExitCode.fail), /^NOT verified/);
  t.match(verify.get(ExitCode.inconclusive), /^intact, signer NOT verified/);
});

t.test('the Dockerfile pins its base image by digest', async (t) => {
  t.match(readPackageFile('Dockerfile'), /^ARG NODE_IMAGE=[^\s@]+@sha256:[0-9a-f]{64}$/m);
});
