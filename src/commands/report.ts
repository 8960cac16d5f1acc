import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ExitCode, UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { readPackageFile } from '../base/package-root.js';
import { diffRuns, renderDiffText, runVerdicts } from '../report/diff.js';
import { parseOutputs, writeOutputs } from '../report/output.js';
import { completeReport, countsText, exitCodeFor, type Report, type StoredReport, summarize, verdictFromRows } from '../report/report.js';

let validator: ValidateFunction<StoredReport> | undefined;

/** Compiled on first use: most commands never read a report back. */
export function reportValidator(): ValidateFunction<StoredReport> {
  if (validator === undefined) {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    validator = ajv.compile<StoredReport>(JSON.parse(readPackageFile('reports/report.schema.json')));
  }
  return validator;
}

export function readReport(path: string): Report {
  const text = readInput(path, 'report');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`report ${path} is not JSON: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const validateReport = reportValidator();
  if (!validateReport(raw)) {
    const e = validateReport.errors?.[0];
    throw new UsageError(`${path}: not an egress-verify report (${e?.instancePath || '/'} ${e?.message ?? ''})`);
  }
  const report = completeReport(raw);
  // The rows are the evidence; a top-level verdict or count that disagrees with them is never trusted.
  const verdict = verdictFromRows(report);
  if (verdict !== report.verdict) throw new UsageError(`${path}: its verdict is ${report.verdict} but its rows give ${verdict}`);
  if (report.command !== 'audit' && JSON.stringify(summarize(report.results)) !== JSON.stringify(report.summary))
    throw new UsageError(
      `${path}: its summary (${countsText(report.summary)}) disagrees with its rows (${countsText(summarize(report.results))})`,
    );
  return report;
}

/** Re-renders a saved report; exits with its verdict (checked against its rows) so CI can gate on a stored run. */
export function reportRenderCommand(path: string, output: string[], tapVersion?: string): number {
  const report = readReport(path);
  writeOutputs(parseOutputs(output.length > 0 ? output : ['tap'], tapVersion), report);
  return exitCodeFor(report.verdict);
}

/**
 * `report diff OLD NEW`: the changes as text; with -o, NEW rendered with those changes (the HTML
 * then shows them). Exits 1 on a new bypass, 3 when a check lost its proof, else 0.
 */
export function reportDiffCommand(oldPath: string, newPath: string, output: string[], tapVersion?: string): number {
  if (oldPath === '-' && newPath === '-') throw new UsageError('stdin (-) can be read only once');
  const before = readReport(oldPath);
  const after = readReport(newPath);
  const changes = diffRuns(runVerdicts(before), runVerdicts(after));
  if (output.length === 0) process.stdout.write(renderDiffText(changes));
  else writeOutputs(parseOutputs(output, tapVersion), { ...after, changes });
  if (changes.newBypasses.length > 0) return ExitCode.fail;
  return changes.becameInconclusive.length > 0 ? ExitCode.inconclusive : ExitCode.pass;
}
