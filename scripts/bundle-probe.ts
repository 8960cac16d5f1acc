/**
 * Bundles the probe's entry into one file, in place (`npm run build` runs it after tsc): a probe
 * pod then loads one module instead of a hundred-odd. The bundle is what every probe runs, in
 * the image, the netns lab and the lab cluster alike.
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';

const entry = resolve(import.meta.dirname, '../dist/src/probe-main.js');
await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The CommonJS dependencies (pino, undici) call require() for Node's own modules.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
});
