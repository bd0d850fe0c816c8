/**
 * `policy diff` as Markdown for a pull-request comment: a marker line a bot
 * can find to update one comment, a one-line summary, then the widened
 * policies first. Deterministic (sorted, no times). Policy text in a pull
 * request is its author's, so every value goes into a code span and prose
 * from messages has its Markdown punctuation escaped (markdown-text.ts).
 */
import type { DiffLintWarning, PolicyChange, PolicyDiff, PolicyFieldChange, PolicySummary } from './diff.ts';
import type { PolicyProblem } from '../load/load.ts';
import { code, prose } from './markdown-text.ts';

/** The first line of every diff comment: bots look for it to update their comment. */
export const DIFF_MARKER = '<!-- latchkey-policy-diff -->';

/** Where the two sides came from, for the heading. */
export interface DiffLabels {
  /** The policies folder, relative to the repository root. */
  dir: string;
  base: { revision: string; commit: string };
  head: { revision: string; commit: string };
  /** Extra lines for the reviewer (files not compared); shown as written, escaped. */
  notes?: readonly string[] | undefined;
}

/** Entries listed per section; the rest are counted. Keeps a comment under GitHub's 65,536 characters. */
const SECTION_LIMIT = 100;

const EFFECT_LABEL: Readonly<Record<PolicyFieldChange['effect'], string>> = {
  wider: '⚠️ **wider**',
  review: '🔍 **changed (review)**',
  narrower: '✅ narrower',
  neutral: '✏️ edited',
};

/** The one-line summary, e.g. `2 widened, 1 added, 0 narrowed, 1 removed, 3 unchanged`. */
export function summarizeDiff(diff: PolicyDiff): string {
  if (!diff.compared) return `the head policy set does not load (${count(diff.headProblems.length, 'error')}): nothing compared`;
  const parts = [
    `${diff.widened.length} widened`,
    `${diff.added.length} added`,
    `${diff.narrowed.length} narrowed`,
    `${diff.removed.length} removed`,
    `${diff.unchanged + diff.edited.length} unchanged`,
  ];
  if (diff.introducedWarnings.length > 0) parts.push(count(diff.introducedWarnings.length, 'new lint warning'));
  return parts.join(', ');
}

/** Renders the diff as Markdown. */
export function renderDiffMarkdown(diff: PolicyDiff, labels: DiffLabels): string {
  const lines = [DIFF_MARKER, `**latchkey policy diff:** ${summarizeDiff(diff)}`, ''];
  lines.push(`<sub>${code(labels.dir)} from ${revision(labels.base)} to ${revision(labels.head)}</sub>`);
  for (const note of labels.notes ?? []) lines.push('', `<sub>${prose(note)}</sub>`);
  if (diff.headProblems.length > 0) lines.push(...problemSection('❌ The head policy set does not load: the service would refuse it', diff.headProblems));
  if (diff.baseProblems.length > 0 && diff.compared) {
    lines.push(...problemSection('The base policy set does not load, so every head policy is listed as added', diff.baseProblems));
  }
  lines.push(...section('⚠️ Widened', diff.widened, changeLines));
  lines.push(...section('➕ Added', diff.added, summaryLines));
  lines.push(...section('✅ Narrowed', diff.narrowed, changeLines));
  lines.push(...section('➖ Removed', diff.removed, summaryLines));
  lines.push(...section('✏️ Edited without an access change', diff.edited, changeLines));
  if (diff.compared && diff.linted) lines.push(...section('⚠️ New lint warnings', diff.introducedWarnings, warningLines));
  if (diff.compared && !diff.linted) lines.push('', '<sub>Lint was not run: new lint warnings are not listed.</sub>');
  return `${lines.join('\n')}\n`;
}

function section<T>(title: string, items: readonly T[], render: (item: T) => string[]): string[] {
  if (items.length === 0) return [];
  const lines = ['', `### ${title} (${items.length})`, ''];
  for (const item of items.slice(0, SECTION_LIMIT)) lines.push(...render(item));
  if (items.length > SECTION_LIMIT) lines.push(`- … and ${items.length - SECTION_LIMIT} more (run \`latchkey policy diff\` for the full list)`);
  return lines;
}

function changeLines(policy: PolicyChange): string[] {
  const order: PolicyFieldChange['effect'][] = ['wider', 'review', 'narrower', 'neutral'];
  const sorted = [...policy.changes].sort((a, b) => order.indexOf(a.effect) - order.indexOf(b.effect));
  return [
    `- **${code(policy.name)}** ${code(policy.file)}`,
    ...sorted.map((item) => `  - ${EFFECT_LABEL[item.effect]} ${code(item.field)}: ${changeText(item)}`),
  ];
}

function changeText(item: PolicyFieldChange): string {
  const list = (values: readonly string[]): string => values.map(code).join(', ');
  const note = item.note === undefined ? '' : ` (${prose(item.note)})`;
  if (item.before.length === 0) return `${list(item.after)}${note}`;
  if (item.after.length === 0) return `~~${list(item.before)}~~${note}`;
  const kept = item.after.filter((value) => item.before.includes(value));
  if (kept.length === 0) return `${list(item.before)} → ${list(item.after)}${note}`;
  // Lists that keep some values read best as what they add and drop.
  const added = item.after.filter((value) => !item.before.includes(value));
  const dropped = item.before.filter((value) => !item.after.includes(value));
  const parts = [added.length > 0 ? `adds ${list(added)}` : '', dropped.length > 0 ? `drops ${list(dropped)}` : ''].filter((part) => part !== '');
  return `${parts.length > 0 ? parts.join('; ') : `${list(item.before)} → ${list(item.after)}`}${note}`;
}

function summaryLines(policy: PolicySummary): string[] {
  const grant = `${policy.kind} ${code(policy.target)}, ttl ${code(policy.ttl)}, justification ${policy.justification}, issuer ${code(policy.issuer)}`;
  return [`- **${code(policy.name)}** ${code(policy.file)}: ${grant}`, `  - subject: ${policy.subject.map(code).join(', ')}`];
}

function warningLines(warning: DiffLintWarning): string[] {
  return [`- **${code(warning.policy)}** ${code(`${warning.file}:${warning.line}`)} ${code(warning.rule)}: ${prose(warning.message)}`];
}

function problemSection(title: string, problems: readonly PolicyProblem[]): string[] {
  const where = (problem: PolicyProblem): string => `${problem.file}${problem.line === undefined ? '' : `:${problem.line}:${problem.column ?? 1}`}`;
  const shown = problems.slice(0, SECTION_LIMIT).map((problem) => `- ${code(where(problem))}: ${prose(problem.message)}`);
  const more = problems.length > SECTION_LIMIT ? [`- … and ${problems.length - SECTION_LIMIT} more`] : [];
  return ['', `### ${title} (${problems.length})`, '', ...shown, ...more];
}

const revision = (side: { revision: string; commit: string }): string => `${code(side.revision)} (${code(side.commit.slice(0, 12))})`;
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
