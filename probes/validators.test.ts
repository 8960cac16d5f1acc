import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { GENERATED, validatorSource } from '../scripts/validators.js';

t.test('the precompiled validators are those of the schemas as they are now', async (t) => {
  for (const g of GENERATED) {
    const current = readFileSync(resolve(import.meta.dirname, '..', g.file), 'utf8') === validatorSource(g);
    t.ok(current, `${g.file} is stale: run npm run gen:validators`);
  }
});
