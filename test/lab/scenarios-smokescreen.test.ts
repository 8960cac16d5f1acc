import { scenarioMatrix } from './scenarios.js';

await scenarioMatrix('smokescreen');
