import { loadAll } from 'js-yaml';
import t from 'tap';
import { parseCatalogue } from '../../probes/catalogue.js';
import { parseManifests } from '../audit/manifests.js';
import { UsageError } from './errors.js';
import { type AliasBudget, documentSpans, MAX_ALIAS_NODES, parseYaml } from './yaml.js';

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

/** Each span's text, and what its documents are when parsed alone. */
function split(text: string): { spans: string[]; lines: number[]; documents: unknown[] } {
  const spans = [...documentSpans(text)];
  const budget: AliasBudget = { added: 0 };
  return {
    spans: spans.map((s) => text.slice(s.start, s.end)),
    lines: spans.map((s) => s.line),
    documents: spans.flatMap((s) => parseYaml(text.slice(s.start, s.end), 'm.yaml', undefined, budget).documents),
  };
}

t.test('the splitter: each document apart, the same documents as js-yaml reads from the whole stream', async (t) => {
  const cases: [string, string, string[]][] = [
    ['plain documents', 'a: 1\n---\nb: 2\n', ['a: 1\n', '---\nb: 2\n']],
    ['an indented --- inside a block scalar is content', 'a: |\n  ---\n  x\n---\nb: 2\n', ['a: |\n  ---\n  x\n', '---\nb: 2\n']],
    ['a --- at a line start ends even a root block scalar', '--- |\nfoo\n---\nbar\n', ['--- |\nfoo\n', '---\nbar\n']],
    ['a folded scalar holding "--- x" indented', 'a: >\n  --- x\n  ... y\n', ['a: >\n  --- x\n  ... y\n']],
    [
      '... ends a document; comments and a directive after it go with the next',
      'a: 1\n...\n# c\n%YAML 1.1\n---\nb: 2\n',
      ['a: 1\n...\n', '# c\n%YAML 1.1\n---\nb: 2\n'],
    ],
    ['a bare document after ...', 'a: 1\n... # end\nb: 2\n', ['a: 1\n... # end\n', 'b: 2\n']],
    [
      'directives open the first document',
      '%YAML 1.1\n%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n',
      ['%YAML 1.1\n%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n'],
    ],
    ['a BOM before the first marker', '\uFEFF---\na: 1\n---\nb: 2\n', ['\uFEFF---\na: 1\n', '---\nb: 2\n']],
    ['CRLF line ends', 'a: 1\r\n---\r\nb: |\r\n  ---\r\n...\r\n', ['a: 1\r\n', '---\r\nb: |\r\n  ---\r\n...\r\n']],
    ['a document that is only a comment', '# head\n---\n# only a comment\n---\na: 1\n', ['# head\n---\n# only a comment\n', '---\na: 1\n']],
    ['a file that is only a comment', '# nothing here\n', ['# nothing here\n']],
    ['markers need a blank or a line end after them', 'a: ---x\n---x: 1\n....: 2\n', ['a: ---x\n---x: 1\n....: 2\n']],
    ['content on the marker line, no final line end', '--- {a: 1}\n--- [b]', ['--- {a: 1}\n', '--- [b]']],
    ['empty text', '', ['']],
  ];
  for (const [name, text, spans] of cases) {
    const got = split(text);
    t.same(got.spans, spans, `${name}: spans`);
    t.equal(got.spans.join(''), text, `${name}: the spans are the whole text`);
    t.same(got.documents, loadAll(text), `${name}: the documents js-yaml reads from the whole`);
  }
  t.same(split('# a\n---\nx: 1\n\n---\ny: 2\n...\n\n---\nz: 3\n').lines, [0, 4, 7]);
});

t.test('the alias bound holds per file, across the documents of a stream', async (t) => {
  // Two documents, each within the bound alone, over it together.
  const half = Math.ceil(MAX_ALIAS_NODES / 2) + 1;
  const doc = `kind: ConfigMap\nmetadata: {name: c}\na: &a [${Array.from({ length: half }, () => '1').join(',')}]\nb: *a\n`;
  t.equal(parseManifests('one.yaml', doc).objects.length, 1);
  t.throws(() => parseManifests('two.yaml', `${doc}---\n${doc.replace('name: c', 'name: d')}`), {
    message: /two\.yaml: YAML aliases expand to over 100000 nodes/,
  });
});
