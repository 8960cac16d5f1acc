import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
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
