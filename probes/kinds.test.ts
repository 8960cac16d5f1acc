import t from 'tap';
import { readPackageFile } from '../src/base/package-root.js';
import { KINDS } from './kinds.js';

const registry = Object.keys(KINDS).sort();

/** Every list of check kinds a schema declares: `"kind": { "enum": [...] }` outside an `if`. */
function kindEnums(schema: unknown): string[][] {
  const found: string[][] = [];
  const walk = (node: unknown, inIf: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const list = (value as { enum?: unknown } | null)?.enum;
      if (key === 'kind' && !inIf && Array.isArray(list) && list.includes('tcp')) found.push([...list].sort());
      walk(value, inIf || key === 'if');
    }
  };
  walk(schema, false);
  return found;
}

t.test('the schemas list exactly the registry’s kinds', async (t) => {
  for (const file of ['probes/plan.schema.json', 'reports/report.schema.json']) {
    const enums = kindEnums(JSON.parse(readPackageFile(file)));
    t.ok(enums.length > 0, `${file} has a kind list`);
    for (const list of enums) t.same(list, registry, file);
  }
});

t.test('the check-kind table in docs/checks.md has a row for each kind, and no other', async (t) => {
  const page = readPackageFile('docs/checks.md');
  const table = /\n## Check kinds[\s\S]*?\n(\|[\s\S]*?)\n\n/.exec(page)?.[1] ?? '';
  const rows = table.split('\n').filter((l) => l.startsWith('| `'));
  const kinds = [...new Set(rows.map((l) => /^\| `([^`]+)`/.exec(l)?.[1]))].sort();
  t.same(kinds, registry);
});

t.test('a control kind is a kind that goes through the companion', async (t) => {
  const controls = Object.entries(KINDS)
    .filter(([, k]) => k.control)
    .map(([name]) => name);
  t.same(controls.sort(), ['proxy-connect', 'proxy-env', 'proxy-https']);
});
