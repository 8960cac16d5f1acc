import t from 'tap';
import { parseCatalogue } from '../../probes/catalogue.js';
import { parseManifests } from '../audit/manifests.js';
import { UsageError } from './errors.js';
import { MAX_ALIAS_NODES, parseYaml } from './yaml.js';

/** Nine levels of ten aliases each: 10⁹ leaves from about 1 KB of text. */
function aliasBomb(prefix: string): string {
  const lines = [`${prefix}a0: &a0 [x, x, x, x, x, x, x, x, x, x]`];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

t.test('an alias bomb is refused in well under a second, for manifests and catalogues', async (t) => {
  const started = performance.now();
  t.throws(() => parseManifests('bomb.yaml', aliasBomb('kind: ConfigMap\nmetadata: {name: bomb}\n')), UsageError);
  t.throws(() => parseCatalogue(aliasBomb('version: 1\n'), 'bomb.yaml'), {
    message: /bomb\.yaml: YAML aliases expand to over 100000 nodes/,
  });
  t.ok(performance.now() - started < 1000, `refused in ${Math.round(performance.now() - started)} ms`);
});

t.test('aliases that expand within the bound still parse', async (t) => {
  const shared = 'env: &env [{name: A, value: "1"}, {name: B, value: "2"}]\nc1: *env\nc2: *env\n';
  t.same(parseYaml(shared, 'ok.yaml').documents, [
    {
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      c1: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      c2: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
    },
  ]);
  // Exactly at the bound: one alias to a list of MAX_ALIAS_NODES - 1 scalars (plus the list).
  const big = `a: &a [${Array.from({ length: MAX_ALIAS_NODES - 1 }, () => '1').join(',')}]\nb: *a\n`;
  t.equal(parseYaml(big, 'big.yaml').documents.length, 1);
  t.throws(() => parseYaml(`${big}c: *a\n`, 'big.yaml'), UsageError);
});
