import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding package.json, found by walking up from this module, so data files
 * (schemas, the catalogue) load the same from sources under tsx and from dist/ in the image.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('egress-verify: package.json not found above the installed module');
}

export const packageRoot = findRoot();

export function readPackageFile(relative: string): string {
  return readFileSync(join(packageRoot, relative), 'utf8');
}

export const toolVersion: string = (JSON.parse(readPackageFile('package.json')) as { version: string }).version;
