/**
 * `policy check`'s output: load errors and lint warnings as text for people,
 * JSON for tools, or GitHub workflow commands so a pull-request check
 * annotates the offending lines.
 */
import { relative } from 'node:path';
import type { PolicyProblem } from '../load/load.ts';
import type { LintWarning } from './lint.ts';

/** Output formats of `policy check`. */
export type CheckFormat = 'text' | 'json' | 'github';

/** The outcome of a check. */
export interface CheckReport {
  /** Policies loaded (0 when the set did not load). */
  policies: number;
  /** Load errors: the service would refuse the set. */
  errors: readonly PolicyProblem[];
  /** Lint warnings (only when the set loaded). */
  warnings: readonly LintWarning[];
  /** Warnings fail the check too. */
  strict: boolean;
}

/** The title rule of load errors in GitHub annotations (warnings carry their own rule id). */
export const LOAD_ERROR_RULE = 'invalid-policy';

/** SPEC §1: 1 with errors, or with warnings under `--strict`; else 0. */
export function checkExitCode(report: CheckReport): 0 | 1 {
  return report.errors.length > 0 || (report.strict && report.warnings.length > 0) ? 1 : 0;
}

/** Renders a report; file paths are shown relative to `cwd` (as GitHub annotations need them). */
export function formatCheckReport(report: CheckReport, format: CheckFormat, cwd: string): string {
  const show = (file: string): string => relative(cwd, file) || file;
  if (format === 'json') return `${JSON.stringify(jsonReport(report, show), null, 2)}\n`;
  const lines = format === 'github' ? githubLines(report, show) : textLines(report, show);
  return `${[...lines, summary(report)].join('\n')}\n`;
}

function jsonReport(report: CheckReport, show: (file: string) => string) {
  return {
    ok: checkExitCode(report) === 0,
    policies: report.policies,
    errors: report.errors.map((problem) => ({ ...problem, file: show(problem.file) })),
    warnings: report.warnings.map((warning) => ({ ...warning, file: show(warning.file) })),
  };
}

function textLines(report: CheckReport, show: (file: string) => string): string[] {
  const where = (file: string, line?: number, column?: number): string => `${show(file)}${line === undefined ? '' : `:${line}:${column ?? 1}`}`;
  return [
    ...report.errors.map((p) => `${where(p.file, p.line, p.column)}: error: ${p.message}`),
    ...report.warnings.map((w) => `${where(w.file, w.line, w.column)}: warning [${w.rule}]: ${w.message} (fix: ${w.fix})`),
  ];
}

/** Workflow commands (`::error file=…,line=…,col=…,title=…::message`), escaped per GitHub's rules. */
function githubLines(report: CheckReport, show: (file: string) => string): string[] {
  const command = (kind: 'error' | 'warning', file: string, line: number | undefined, column: number | undefined, rule: string, message: string): string => {
    const position = line === undefined ? '' : `,line=${line},col=${column ?? 1}`;
    return `::${kind} file=${escapeProperty(show(file))}${position},title=${escapeProperty(`latchkey ${rule}`)}::${escapeData(message)}`;
  };
  return [
    ...report.errors.map((p) => command('error', p.file, p.line, p.column, LOAD_ERROR_RULE, p.message)),
    ...report.warnings.map((w) => command('warning', w.file, w.line, w.column, w.rule, `${w.message} (fix: ${w.fix})`)),
  ];
}

/** A workflow command's message: `%`, CR and LF are escaped. */
export const escapeData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** A workflow command's property value: as data, plus `:` and `,`. */
export const escapeProperty = (text: string): string => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

function summary(report: CheckReport): string {
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  if (report.errors.length > 0) return `${count(report.errors.length, 'error', 'errors')}; the service would refuse this set (lint runs once it loads)`;
  const warnings = report.warnings.length === 0 ? 'no warnings' : count(report.warnings.length, 'warning', 'warnings');
  const strict = report.strict && report.warnings.length > 0 ? ' (--strict: warnings fail the check)' : '';
  return `${count(report.policies, 'policy', 'policies')} checked: no errors, ${warnings}${strict}`;
}
