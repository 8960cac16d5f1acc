/**
 * A saved JSON report read back (report render/diff, evidence verify): checked against the
 * schema, and its verdict and counts against its own rows, which are the evidence.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';
import { readPackageFile } from '../base/package-root.js';
import { completeReport, countsText, type Report, type StoredReport, summarize, verdictFromRows } from './report.js';

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
