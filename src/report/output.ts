/**
 * `-o/--output FORMAT[=FILE]`, repeatable: several renderings of one report at once, at most one
 * of them on stdout.
 */
import { accessSync, constants, existsSync, mkdirSync, renameSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderJsonLines } from '../../probes/wire.js';
import { InfrastructureError, UsageError } from '../base/errors.js';
import { redactCredentialsIn } from '../base/redact.js';
import type { OutputStream } from '../base/stream.js';
import { FORMATS, type Format } from './formats.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { renderOpenMetrics } from './openmetrics.js';
import type { Report } from './report.js';
import { renderSarif } from './sarif.js';
import { type Destination, renderHumanSummary } from './summary.js';
import { renderTap, TAP_VERSIONS, type TapVersion } from './tap.js';

export interface OutputSpec {
  format: Format;
  /** Absent: stdout. */
  file?: string;
  tapVersion: TapVersion;
}

/** `-o` values, and `--tap-version` for every TAP among them. */
export function parseOutputs(values: readonly string[], tapVersion = '14'): OutputSpec[] {
  if (!(TAP_VERSIONS as readonly string[]).includes(tapVersion))
    throw new UsageError(`--tap-version must be ${TAP_VERSIONS.join(' or ')}, not "${tapVersion}"`);
  const specs = values.map((value): OutputSpec => {
    const [format, file] = value.split(/=(.*)/s, 2);
    if (!FORMATS.includes(format as Format)) throw new UsageError(`unknown output format "${format}" (use ${FORMATS.join(', ')})`);
    if (file === '') throw new UsageError(`output "${value}" names no file`);
    if (file !== undefined) checkWritable(file, `-o ${value}`);
    return { format: format as Format, ...(file !== undefined && { file }), tapVersion: tapVersion as TapVersion };
  });
  if (specs.filter((s) => s.file === undefined).length > 1)
    throw new UsageError('only one output can go to stdout; give the others a file (-o json=FILE)');
  return specs;
}

/**
 * Before any work: a report that cannot be written after a ten-minute run is a lost run. The
 * file must be absent or a writable non-directory, and its nearest existing ancestor a writable
 * directory (missing directories are created when writing).
 */
export function checkWritable(file: string, flag: string): void {
  const refuse = (why: string): never => {
    throw new UsageError(`${flag}: ${why}`);
  };
  const lookup = (path: string): Stats | undefined => {
    try {
      return statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ENOTDIR') return refuse(`${path}: a part of it is not a directory`);
      return refuse(`cannot use ${path} (${code ?? String(err)})`);
    }
  };
  const stat = lookup(file);
  if (stat?.isDirectory()) refuse(`${file} is a directory`);
  let dir = stat ? resolve(file) : resolve(dirname(file));
  if (!stat) {
    let found = lookup(dir);
    while (found === undefined && dir !== dirname(dir)) {
      dir = dirname(dir);
      found = lookup(dir);
    }
    if (found !== undefined && !found.isDirectory()) refuse(`${dir} is not a directory`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    refuse(`${stat ? file : dir} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Every rendering of a report, on stdout, in a file or in a bundle, goes through here. */
export function render(format: Format, unredacted: Report, tapVersion?: TapVersion): string {
  const report = redactCredentialsIn(unredacted);
  switch (format) {
    case 'tap':
      return renderTap(report, tapVersion);
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
    case 'openmetrics':
      return renderOpenMetrics(report);
  }
}

export function writeOutputs(specs: readonly OutputSpec[], report: Report, stdout: OutputStream = process.stdout): void {
  for (const spec of specs) {
    const text = render(spec.format, report, spec.tapVersion);
    if (spec.file === undefined) {
      stdout.write(text);
      continue;
    }
    try {
      mkdirSync(dirname(spec.file), { recursive: true });
      writeWhole(spec.file, text);
    } catch (err) {
      throw new InfrastructureError(`cannot write ${spec.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }
}

/**
 * A run on a terminal whose reports all went to files ends with what a person reads: on stderr,
 * beside the progress lines, and only when stderr is a terminal, so stdout and pipes stay the
 * reports' alone.
 */
export function summarizeOnTerminal(
  specs: readonly OutputSpec[],
  report: Report,
  more: readonly Destination[] = [],
  stderr: OutputStream = process.stderr,
): void {
  if (stderr.isTTY !== true || specs.some((s) => s.file === undefined)) return;
  const files = specs.map((s) => ({ what: s.format, where: s.file ?? '' }));
  stderr.write(renderHumanSummary(redactCredentialsIn(report), [...files, ...more]));
}

/**
 * A file is written aside and renamed, so that a reader (node-exporter's textfile collector)
 * never sees half of it; a device or pipe (/dev/stdout) is written in place.
 */
function writeWhole(file: string, text: string): void {
  if (existsSync(file) && !statSync(file).isFile()) {
    writeFileSync(file, text);
    return;
  }
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}
