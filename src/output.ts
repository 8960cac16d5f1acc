/**
 * `-o/--output FORMAT[=FILE]`, repeatable: several renderings of one report at once, at most one
 * of them on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderJsonLines } from '../probes/wire.js';
import { UsageError } from './errors.js';
import { renderHtml } from './report/html.js';
import { renderJunit } from './report/junit.js';
import { renderMarkdown } from './report/markdown.js';
import type { Report } from './report/report.js';
import { renderSarif } from './report/sarif.js';
import { renderTap } from './report/tap.js';

export const FORMATS = ['tap', 'json', 'jsonl', 'junit', 'sarif', 'html', 'md'] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputSpec {
  format: Format;
  /** Absent: stdout. */
  file?: string;
}

export function parseOutputs(values: readonly string[]): OutputSpec[] {
  const specs = values.map((value): OutputSpec => {
    const [format, file] = value.split(/=(.*)/s, 2);
    if (!FORMATS.includes(format as Format)) throw new UsageError(`unknown output format "${format}" (use ${FORMATS.join(', ')})`);
    if (file === '') throw new UsageError(`output "${value}" names no file`);
    return file === undefined ? { format: format as Format } : { format: format as Format, file };
  });
  if (specs.filter((s) => s.file === undefined).length > 1)
    throw new UsageError('only one output can go to stdout; give the others a file (-o json=FILE)');
  return specs;
}

export function render(format: Format, report: Report): string {
  switch (format) {
    case 'tap':
      return renderTap(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'jsonl':
      return renderJsonLines(report);
    case 'junit':
      return renderJunit(report);
    case 'sarif':
      return renderSarif(report);
    case 'html':
      return renderHtml(report);
    case 'md':
      return renderMarkdown(report);
  }
}

export function writeOutputs(specs: readonly OutputSpec[], report: Report): void {
  for (const spec of specs) {
    const text = render(spec.format, report);
    if (spec.file === undefined) {
      process.stdout.write(text);
      continue;
    }
    mkdirSync(dirname(spec.file), { recursive: true });
    writeFileSync(spec.file, text);
  }
}
