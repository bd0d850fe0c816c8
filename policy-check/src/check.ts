/**
 * The check half of the review: HEAD's policy set, loaded by the service's
 * loader and linted, reported as `latchkey policy check --format github`
 * reports it, so the pull request's files are annotated.
 */
import { join } from 'node:path';
import { checkExitCode, formatCheckReport, type CheckReport } from '../../exchange-service/src/policy/index.ts';
import type { LoadedRevision } from './revision.ts';

/** A check's report and its workflow commands. */
export interface CheckOutcome {
  report: CheckReport;
  /** `::error …::` / `::warning …::` lines (paths relative to the workspace) and the summary line. */
  annotations: string;
  /** True when the step must fail: errors, or warnings under `strict`. */
  failed: boolean;
}

/** Reports a loaded revision; `root` is the repository's top folder, `cwd` the workspace annotations are relative to. */
export function checkRevision(head: LoadedRevision, strict: boolean, root: string, cwd: string): CheckOutcome {
  const inRepository = <T extends { file: string }>(item: T): T => ({ ...item, file: join(root, ...item.file.split('/')) });
  const report: CheckReport = { policies: head.policies, errors: head.problems.map(inRepository), warnings: head.warnings.map(inRepository), strict };
  return { report, annotations: formatCheckReport(report, 'github', cwd), failed: checkExitCode(report) !== 0 };
}

/** One Markdown line for the job summary and the comment, e.g. `✅ **latchkey policy check:** 4 policies, no errors, 1 warning`. */
export function checkSummaryLine(report: CheckReport): string {
  const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
  const verdict = checkExitCode(report) === 0 ? '✅' : '❌';
  if (report.errors.length > 0) return `${verdict} **latchkey policy check:** ${count(report.errors.length, 'error')}: the service would refuse this set`;
  const warnings = report.warnings.length === 0 ? 'no warnings' : count(report.warnings.length, 'warning');
  const strict = report.strict && report.warnings.length > 0 ? ' (strict: warnings fail the check)' : '';
  return `${verdict} **latchkey policy check:** ${count(report.policies, 'policy', 'policies')}, no errors, ${warnings}${strict}`;
}

/** The step's failure message for a failed check. */
export function checkFailure(report: CheckReport): string {
  if (report.errors.length > 0)
    return `latchkey policy check: ${report.errors.length} error(s) in the policies: the service would refuse this set (see the annotations)`;
  return `latchkey policy check: ${report.warnings.length} lint warning(s), and strict is true (see the annotations)`;
}
