/**
 * The import graph of the project's TypeScript, and its cycles at two levels: files (a module
 * that imports itself through others) and folders (two folders that import each other, through
 * any path). Type-only and dynamic imports count: they couple the modules all the same. Tests are
 * leaves (nothing imports them) and may reach across folders, so they are left out.
 * Run: node --import tsx scripts/import-cycles.ts (exit 1 on a cycle).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export type Graph = Map<string, Set<string>>;

const SOURCE_DIRS = ['src', 'probes', 'test', 'scripts'];

/** Every non-test .ts file under the source folders, with the project files it imports. */
export function importGraph(root: string): Graph {
  const graph: Graph = new Map();
  const files = SOURCE_DIRS.flatMap((d) =>
    existsSync(join(root, d)) ? readdirSync(join(root, d), { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)) : [],
  ).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = importedFiles
      .filter((i) => i.fileName.startsWith('.'))
      .map((i) => normalize(join(dirname(file), i.fileName.replace(/\.js$/, '.ts'))))
      .filter((t) => existsSync(join(root, t)) && t.endsWith('.ts'));
    graph.set(file, new Set(targets));
  }
  return graph;
}

/** The same graph between folders: an edge where a file of one imports a file of another. */
export function folderGraph(files: Graph): Graph {
  const graph: Graph = new Map();
  for (const [from, targets] of files) {
    const edges = graph.get(dirname(from)) ?? new Set<string>();
    graph.set(dirname(from), edges);
    for (const to of targets) if (dirname(to) !== dirname(from)) edges.add(dirname(to));
  }
  return graph;
}

/** Strongly connected components of more than one node, or one node that imports itself (Tarjan). */
export function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) visit(w);
      if (stack.includes(w)) low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = stack.splice(stack.indexOf(v));
    if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = relative(process.cwd(), join(dirname(new URL(import.meta.url).pathname), '..')) || '.';
  const files = importGraph(root);
  const problems = [
    ...cycles(files).map((c) => `files import each other: ${c.join(' ')}`),
    ...cycles(folderGraph(files)).map((c) => `folders import each other: ${c.join(' ')}`),
  ];
  for (const p of problems) console.error(`import cycle: ${p}`);
  console.log(problems.length === 0 ? `no import cycles (${files.size} files)` : `${problems.length} import cycle(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
