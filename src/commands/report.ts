/**
 * `egress-verify report render|diff`: a saved report re-rendered, or two compared.
 */
import { ExitCode, UsageError } from '../base/errors.js';
import { diffRuns, renderDiffText, runVerdicts } from '../report/diff.js';
import { parseOutputs, writeOutputs } from '../report/output.js';
import { readReport } from '../report/read.js';
import { exitCodeFor } from '../report/report.js';

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
