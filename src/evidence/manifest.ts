/**
 * The evidence bundle's integrity: a manifest with the SHA-256 of every file, the files chained
 * into one digest (so the whole bundle is named by one value that the cluster's history also
 * records), and an optional Ed25519 signature over the manifest's exact bytes.
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const BUNDLE_FORMAT = 'egress-verify-evidence/v1' as const;
export const MANIFEST = 'manifest.json';
export const SIGNATURE = 'manifest.sig';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  createdAt: string;
  runId?: string;
  /** The chain digest of the bundle recorded before this one (run --record), linking runs. */
  previous?: string;
  files: ManifestFile[];
  /** sha256 over the header and every file entry in order: one value that names the bundle. */
  chain: string;
  /** Which key signed manifest.json (the signature is in manifest.sig); absent when unsigned. */
  signedBy?: { algorithm: 'ed25519'; fingerprint: string };
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** SHA256:<base64> of the public key's SubjectPublicKeyInfo, as ssh-keygen -l prints keys. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const spki = pub.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
}

export function chainOf(m: Pick<Manifest, 'format' | 'createdAt' | 'runId' | 'previous' | 'files'>): string {
  let link = sha256(JSON.stringify([m.format, m.createdAt, m.runId ?? '', m.previous ?? '']));
  for (const f of m.files) link = sha256(`${link}\n${f.path}\n${f.size}\n${f.sha256}`);
  return link;
}

/**
 * Everything under dir except the manifest and signature, at any depth (a file hidden deep is
 * still an added file), as sorted POSIX paths. Symlinks are listed, not followed: no loops.
 */
function bundleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.filter((p) => p !== MANIFEST && p !== SIGNATURE).sort();
}

const HASH_CHUNK = 1 << 20;

/** Streamed: a bundle with a multi-gigabyte file must not need that much memory to verify. */
function hashFile(dir: string, path: string): ManifestFile {
  const fd = openSync(join(dir, path), 'r');
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(HASH_CHUNK);
    let size = 0;
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      hash.update(chunk.subarray(0, n));
      size += n;
    }
    return { path, size, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

export function buildManifest(dir: string, header: { createdAt: string; runId?: string; previous?: string }, signer?: KeyObject): Manifest {
  const base = {
    format: BUNDLE_FORMAT,
    createdAt: header.createdAt,
    ...(header.runId && { runId: header.runId }),
    ...(header.previous && { previous: header.previous }),
    files: bundleFiles(dir).map((p) => hashFile(dir, p)),
  };
  return {
    ...base,
    chain: chainOf(base),
    ...(signer && { signedBy: { algorithm: 'ed25519' as const, fingerprint: keyFingerprint(signer) } }),
  };
}

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
}

/** Ed25519 signs the message itself (no pre-hash): the algorithm argument must be null. */
export const signManifest = (bytes: Buffer, key: KeyObject): string => sign(null, bytes, key).toString('base64');

export interface Verification {
  ok: boolean;
  /** One line per problem, each naming the file. */
  problems: string[];
  /** One line per fact an auditor should read even when ok (unsigned, key fingerprint). */
  notes: string[];
  manifest?: Manifest;
}

/** A relative path that stays in the bundle: a hostile manifest must not make verify read /etc. */
const insideBundle = (path: string): boolean =>
  /^[\w.-]+(\/[\w.-]+)*$/.test(path) && !path.split('/').some((part) => part === '.' || part === '..');

function parseManifest(bytes: Buffer): Manifest | string {
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    return `${MANIFEST}: not valid JSON (changed?)`;
  }
  if (m === null || typeof m !== 'object' || m.format !== BUNDLE_FORMAT) return `${MANIFEST}: not an ${BUNDLE_FORMAT} manifest`;
  const entryOk = (f: ManifestFile): boolean =>
    typeof f?.path === 'string' &&
    insideBundle(f.path) &&
    typeof f.size === 'number' &&
    typeof f.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(f.sha256);
  if (!Array.isArray(m.files) || !m.files.every(entryOk) || typeof m.chain !== 'string' || typeof m.createdAt !== 'string')
    return `${MANIFEST}: malformed file list or chain (changed?)`;
  return m;
}

/**
 * Checks the bundle in dir: every listed file against its hash, files added or removed, the
 * chain, and the signature (against `key` when given). A signature is only trusted with a key
 * the auditor obtained independently: the fingerprint in the manifest is for finding that key.
 */
export function verifyBundle(dir: string, key?: KeyObject): Verification {
  const problems: string[] = [];
  const notes: string[] = [];
  const manifestPath = join(dir, MANIFEST);
  if (!existsSync(manifestPath)) return { ok: false, problems: [`${MANIFEST}: removed (no manifest: nothing can be verified)`], notes };
  const bytes = readFileSync(manifestPath);
  const parsed = parseManifest(bytes);
  if (typeof parsed === 'string') return { ok: false, problems: [parsed], notes };
  const m = parsed;

  const listed = new Set(m.files.map((f) => f.path));
  for (const f of m.files) {
    const stat = lstatSync(join(dir, f.path), { throwIfNoEntry: false });
    if (!stat?.isFile()) {
      problems.push(`${f.path}: removed`);
      continue;
    }
    // A size that differs already says "changed": no need to read a file that may be huge.
    if (stat.size !== f.size) {
      problems.push(`${f.path}: changed (${stat.size} bytes, manifest says ${f.size})`);
      continue;
    }
    const now = hashFile(dir, f.path);
    if (now.sha256 !== f.sha256) problems.push(`${f.path}: changed (sha256 ${now.sha256}, manifest says ${f.sha256})`);
  }
  for (const p of bundleFiles(dir)) if (!listed.has(p)) problems.push(`${p}: added (not in the manifest)`);
  if (chainOf(m) !== m.chain) problems.push(`${MANIFEST}: changed (its entries do not produce its chain ${m.chain})`);

  const sigPath = join(dir, SIGNATURE);
  const signed = existsSync(sigPath);
  if (signed && m.signedBy === undefined) problems.push(`${SIGNATURE}: added (the manifest says the bundle is unsigned)`);
  if (!signed && m.signedBy !== undefined) problems.push(`${SIGNATURE}: removed (the manifest says ${m.signedBy.fingerprint} signed it)`);
  if (key !== undefined) {
    if (!signed) problems.push(`${SIGNATURE}: missing: the bundle is unsigned, but a key was given`);
    else {
      const text = readFileSync(sigPath, 'utf8');
      const signature = Buffer.from(text.trim(), 'base64');
      // Base64 decoding skips stray characters: only the exact encoding written counts.
      let valid = text === `${signature.toString('base64')}\n`;
      try {
        valid &&= verify(null, bytes, key, signature);
      } catch {
        valid = false;
      }
      if (valid) notes.push(`signature: valid, by ${keyFingerprint(key)}`);
      else
        problems.push(
          `${SIGNATURE}: signature does not verify with key ${keyFingerprint(key)} (wrong key, or ${MANIFEST} or ${SIGNATURE} changed)`,
        );
    }
  } else if (signed && m.signedBy !== undefined) {
    notes.push(`signature: present, by ${m.signedBy.fingerprint}, NOT checked: give --key with that public key`);
  } else if (!signed) {
    notes.push(
      `unsigned: integrity only, chain ${m.chain}; who made it shows only in a signature, or in this chain recorded elsewhere (run --record)`,
    );
  }
  return { ok: problems.length === 0, problems, notes, manifest: m };
}
