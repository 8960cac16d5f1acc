import { scenarioMatrix } from './scenarios.js';

await scenarioMatrix('squid-bump');
