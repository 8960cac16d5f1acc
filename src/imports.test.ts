import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cycles, folderGraph, importGraph } from '../scripts/import-cycles.js';
import { packageRoot } from './base/package-root.js';

t.test('no file imports itself through others, and no two folders import each other', async (t) => {
  const files = importGraph(packageRoot);
  t.ok(files.size > 50, `read the project (${files.size} files)`);
  t.same(cycles(files), [], 'file cycles');
  t.same(cycles(folderGraph(files)), [], 'folder cycles');
});

t.test('the check finds cycles through type-only, dynamic and re-exporting imports', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ev-imports-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const write = (file: string, text: string): void => {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  write('src/a.ts', "import type { B } from './b.js';\nexport type A = B;\n");
  write('src/b.ts', "export { c } from './c.js';\nexport type B = number;\n");
  write('src/c.ts', "export const c = () => import('./a.js');\n");
  write('src/self.ts', "import './self.js';\n");
  write('src/top/up.ts', "import { low } from '../low/low.js';\nexport const up = low;\n");
  write('src/low/low.ts', 'export const low = 1;\n');
  write('src/low/back.ts', "import { up } from '../top/up.js';\nexport const back = up;\n");
  write('src/low/low.test.ts', "import '../top/up.js';\n");
  write('probes/leaf.ts', "import { low } from '../src/low/low.js';\nexport const leaf = low;\n");
  const files = importGraph(root);
  t.same(cycles(files), [['src/a.ts', 'src/b.ts', 'src/c.ts'], ['src/self.ts']]);
  t.same(cycles(folderGraph(files)), [['src/low', 'src/top']], 'low ↔ top through two different files; probes → src is one way');
  t.notOk(files.has('src/low/low.test.ts'), 'tests are left out');
});
