import t from 'tap';
import { readPackageFile } from '../base/package-root.js';
import { RULES } from './catalogue.js';

t.test('the rule table in docs/audit.md is the catalogue, row for row', async (t) => {
  const rows = readPackageFile('docs/audit.md')
    .split('\n')
    .filter((line) => line.startsWith('| <a id="rule-'));
  const expected = RULES.map((r) => `| <a id="rule-${r.id}"></a>\`${r.id}\` | ${r.severity} | ${r.title} | ${r.fix} |`);
  t.same(rows, expected);
});
