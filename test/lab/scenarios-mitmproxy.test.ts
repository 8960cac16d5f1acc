import { scenarioMatrix } from './scenarios.js';

await scenarioMatrix('mitmproxy');
