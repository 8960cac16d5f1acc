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
import { type AliasBudget, documentSpans, type ParsedYaml, parseYaml } from '../base/yaml.js';
import { policyKindOf } from '../kube/policy-kinds.js';

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

/** The kinds whose objects carry a pod template, and where it is. */
export const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Pod: [],
};

/** kubectl's copy of the whole object as last applied: as large as the object, and never read. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

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
  const before = { objects: set.objects.length, warnings: set.warnings.length, notes: set.notes.length };
  const budget: AliasBudget = { added: 0 };
  for (const span of documentSpans(text)) {
    const source = text.slice(span.start, span.end);
    let parsed: ParsedYaml;
    try {
      parsed = parseYaml(source, file, YAML11_SCHEMA, budget);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      if (text.includes('{{')) {
        // What earlier documents of the file added goes too: the whole file is a template.
        set.objects.length = before.objects;
        set.warnings.length = before.warnings;
        set.notes.length = before.notes;
        set.notes.push(`${file}: a template ({{ }}), not a manifest; skipped`);
        return;
      }
      const mark = (err as { mark?: { line?: number } }).mark;
      const reason = (err as { reason?: string }).reason ?? (err as Error).message?.split('\n')[0] ?? String(err);
      throw new UsageError(`${file === '-' ? 'stdin' : file}:${span.line + (mark?.line ?? 0) + 1}: not valid YAML (${reason})`, {
        cause: err,
      });
    }
    addDocuments(set, file, source, span.line, parsed);
  }
}

/** The objects of one parsed span; `firstLine` is the span's 0-based line in the file. */
function addDocuments(set: ManifestSet, file: string, source: string, firstLine: number, { events, documents }: ParsedYaml): void {
  const lineInSpan = lineIndex(source);
  const lineOf = (offset: number): number => firstLine + lineInSpan(offset);
  const starts = documentStarts(source, events);
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
  const version = typeof apiVersion === 'string' ? apiVersion : '';
  set.objects.push({
    apiVersion: version,
    kind,
    name,
    ...(typeof namespace === 'string' && namespace !== '' && { namespace }),
    // A JSON copy, as kubectl sends it (a YAML timestamp is a string): compact objects that hold
    // no slice of the parser's text, a third less memory for a large manifest.
    body: JSON.parse(JSON.stringify(auditedBody(version, kind, value))) as Record<string, unknown>,
    location,
  });
}

/** Kinds whose body some rule reads: pod templates, Services, EndpointSlices, Namespaces, every policy kind. */
const bodyIsRead = (apiVersion: string, kind: string): boolean =>
  TEMPLATE_PATHS[kind] !== undefined ||
  kind === 'Service' ||
  kind === 'EndpointSlice' ||
  kind === 'Namespace' ||
  policyKindOf(apiVersion, kind) !== undefined;

/**
 * What the audit keeps of an object, as each document is read: a large manifest is mostly what no
 * rule reads (ConfigMap and Secret data, CRDs, status, managedFields, last-applied copies).
 * Another kind keeps its identity only, so copies of it that differ count as one object; it is
 * never audited.
 */
export function auditedBody(apiVersion: string, kind: string, value: Record<string, unknown>): Record<string, unknown> {
  const { managedFields: _managedFields, annotations, ...metadata } = isRecord(value.metadata) ? value.metadata : {};
  if (!bodyIsRead(apiVersion, kind)) {
    const { name, namespace } = metadata;
    return { apiVersion, kind, metadata: { name, ...(namespace !== undefined && { namespace }) } };
  }
  const { status: _status, ...kept } = value;
  const { [LAST_APPLIED]: _lastApplied, ...keptAnnotations } = isRecord(annotations) ? annotations : {};
  return {
    ...kept,
    metadata: { ...metadata, ...(isRecord(annotations) && { annotations: keptAnnotations }) },
  };
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
