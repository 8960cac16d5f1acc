import { readFileSync } from 'node:fs';
import t from 'tap';
import { GENERATED, planValidatorSource } from '../scripts/plan-validator.js';

t.test('the precompiled plan validators are those of the plan schema as it is now', async (t) => {
  t.ok(readFileSync(GENERATED, 'utf8') === planValidatorSource(), 'probes/plan-validate.generated.ts is stale: run npm run gen:validators');
});
