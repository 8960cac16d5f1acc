/**
 * Reading manifests for `audit`: files, directories and stdin; multi-document YAML and JSON;
 * `List` kinds. Every object keeps the file and line it starts on. A file that does not parse is
 * a usage error naming the file and line: skipping it would audit less than was given.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_ID, type Event, getScalarValue, YAML11_SCHEMA } from 'js-yaml';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { parseYaml } from '../base/yaml.js';

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

/** A live object's "file" (`cluster:NS/KIND/NAME`, src/audit/live.ts): no file at all. */
export const LIVE_FILE_PREFIX = 'cluster:';

export interface SourceLocation {
  /** The path as given (or found under a directory), "-" for stdin, LIVE_FILE_PREFIX… for a live object. */
  file: string;
  /** 1-based line of the object's first key. */
  line: number;
}

/** One Kubernetes object as written, with where it was written. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** Absent when the manifest does not say (it is then applied to the current namespace). */
  namespace?: string;
  body: Record<string, unknown>;
  location: SourceLocation;
}

export interface ManifestSet {
  objects: ManifestObject[];
  /** Files skipped or documents ignored that look like broken manifests, as "file:line: reason". */
  warnings: string[];
  /** Documents that are no Kubernetes objects at all (kustomization.yaml, patches, Helm files), skipped. */
  notes: string[];
}

/** Expands directories (recursively, sorted, *.yaml|*.yml|*.json) and reads each input once. */
export function readManifests(inputs: readonly string[], stdin: () => string = () => readInput('-', 'manifests')): ManifestSet {
  const set: ManifestSet = { objects: [], warnings: [], notes: [] };
  for (const input of inputs) {
    if (input === '-') {
      parseInto(set, '-', stdin());
      continue;
    }
    for (const file of expand(input)) parseInto(set, file, readInput(file, 'manifest'));
  }
  return set;
}

function expand(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  if (!stat.isDirectory()) return [path];
  const files: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) files.push(...expand(full));
    else if (MANIFEST_EXTENSIONS.test(entry.name)) files.push(full);
  }
  return files;
}

/**
 * Parses one file's text into objects. YAML 1.1 scalars (the schema kubectl reads with), so
 * `defaultMode: 0640` is octal 416 here as it is on the API server.
 */
export function parseManifests(file: string, text: string): ManifestSet {
  const set: ManifestSet = { objects: [], warnings: [], notes: [] };
  parseInto(set, file, text);
  return set;
}

function parseInto(set: ManifestSet, file: string, text: string): void {
  let events: Event[];
  let documents: unknown[];
  try {
    ({ events, documents } = parseYaml(text, file, YAML11_SCHEMA));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const mark = (err as { mark?: { line?: number } }).mark;
    if (text.includes('{{')) {
      set.notes.push(`${file}: a template ({{ }}), not a manifest; skipped`);
      return;
    }
    const reason = (err as { reason?: string }).reason ?? (err as Error).message?.split('\n')[0] ?? String(err);
    throw new UsageError(`${file === '-' ? 'stdin' : file}:${(mark?.line ?? 0) + 1}: not valid YAML (${reason})`, { cause: err });
  }
  const lineOf = lineIndex(text);
  const starts = documentStarts(text, events);
  documents.forEach((doc, i) => {
    const where = starts[i] ?? { root: 0, items: [] };
    if (doc === null || doc === undefined) return;
    if (Array.isArray(doc)) {
      set.notes.push(`${file}:${lineOf(where.root)}: a list, not a Kubernetes object (a patch?); skipped`);
      return;
    }
    if (!isRecord(doc)) {
      set.warnings.push(`${file}:${lineOf(where.root)}: a document that is not an object; ignored`);
      return;
    }
    const notObject = notKubernetes(doc);
    if (notObject !== undefined) {
      set.notes.push(`${file}:${lineOf(where.root)}: ${notObject}, not a Kubernetes object; skipped`);
      return;
    }
    const list = doc.items;
    if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(list)) {
      list.forEach((item, j) => {
        addObject(set, item, { file, line: lineOf(where.items[j] ?? where.root) });
      });
      return;
    }
    addObject(set, doc, { file, line: lineOf(where.root) });
  });
}

/** What a document is when it cannot be a Kubernetes object: every object has a kind. */
function notKubernetes(doc: Record<string, unknown>): string | undefined {
  if (typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('kustomize.config.k8s.io/')) return 'a kustomize file';
  if (doc.kind === undefined) return 'a document without kind';
  return undefined;
}

function addObject(set: ManifestSet, value: unknown, location: SourceLocation): void {
  if (!isRecord(value)) return;
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const { apiVersion, kind } = value;
  const { name, namespace } = metadata;
  if (typeof kind !== 'string' || typeof name !== 'string') {
    set.warnings.push(`${location.file}:${location.line}: an object without kind or metadata.name; ignored`);
    return;
  }
  set.objects.push({
    apiVersion: typeof apiVersion === 'string' ? apiVersion : '',
    kind,
    name,
    ...(typeof namespace === 'string' && namespace !== '' && { namespace }),
    body: value,
    location,
  });
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Offset → 1-based line, by binary search over line starts. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= Math.max(offset, 0)) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

interface DocumentStart {
  /** Offset of the document's root node. */
  root: number;
  /** Offsets of the root's `items:` entries (for List kinds). */
  items: number[];
}

type Frame =
  | { kind: 'document' }
  | { kind: 'mapping'; root: boolean; expectKey: boolean; nextIsItems: boolean }
  | { kind: 'sequence'; items: boolean };

/** Walks the parser's event stream once: where each document, and each `items` entry, starts. */
function documentStarts(text: string, events: readonly Event[]): DocumentStart[] {
  const docs: DocumentStart[] = [];
  const stack: Frame[] = [];
  let current: DocumentStart = { root: 0, items: [] };
  for (const e of events) {
    if (e.type === EVENT_ID.DOCUMENT) {
      current = { root: 0, items: [] };
      docs.push(current);
      stack.push({ kind: 'document' });
      continue;
    }
    if (e.type === EVENT_ID.POP) {
      stack.pop();
      continue;
    }
    const start = e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE ? e.start : e.type === EVENT_ID.SCALAR ? e.valueStart : -1;
    const parent = stack[stack.length - 1];
    let isItems = false;
    if (parent?.kind === 'document') current.root = Math.max(start, 0);
    else if (parent?.kind === 'sequence') {
      if (parent.items) current.items.push(Math.max(start, 0));
    } else if (parent?.kind === 'mapping') {
      if (parent.expectKey) {
        parent.nextIsItems = parent.root && e.type === EVENT_ID.SCALAR && getScalarValue(text, e) === 'items';
      } else {
        isItems = parent.nextIsItems;
        parent.nextIsItems = false;
      }
      parent.expectKey = !parent.expectKey;
    }
    if (e.type === EVENT_ID.MAPPING)
      stack.push({ kind: 'mapping', root: parent?.kind === 'document', expectKey: true, nextIsItems: false });
    else if (e.type === EVENT_ID.SEQUENCE) stack.push({ kind: 'sequence', items: isItems });
  }
  return docs;
}
