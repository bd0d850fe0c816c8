/**
 * Renders an {@link AuditReport} as Markdown (for a pull request, a ticket,
 * a terminal) or JSON (for tools). Everything that came from a request —
 * policy names, repositories, justifications — is untrusted text, so it is
 * printed as an ASCII-escaped JSON string in a code span: no newline,
 * terminal escape, pipe, HTML or Markdown in a claim can change the layout.
 */
import { formatDuration } from '../duration.ts';
import type { AuditReport } from './report.ts';

/** How many grant ids the Markdown lists per policy (JSON lists them all). */
const MAX_IDS = 5;

/** The report as pretty-printed JSON, ending in a newline. */
export function renderReportJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The report as Markdown, ending in a newline. */
export function renderReportMarkdown(report: AuditReport): string {
  const { window } = report;
  const lines = [
    '# latchkey audit report',
    '',
    `Window: ${window.since ?? 'the start of the log'} to ${window.until}; ${window.records} record(s)` +
      (window.first_seq === null ? '.' : `, seq ${window.first_seq} to ${window.last_seq}.`),
    report.policy_set === null
      ? 'Policy set: not loaded; the sections that need it were skipped.'
      : `Policy set: ${report.policy_set.version} (${report.policy_set.policies} policies).`,
    ...section(
      'Exchanges per policy and outcome',
      ['policy', 'granted', 'denied', 'failed', 'total'],
      report.exchanges.map((r) => [name(r.policy), r.granted, r.denied, r.failed, r.total]),
    ),
    ...section(
      'Denials and failures by reason',
      ['event', 'outcome', 'reason', 'count'],
      report.denials.map((r) => [r.event, r.outcome, r.reason ?? '(none)', r.count]),
    ),
    ...section(
      'Most frequent requesters',
      ['requester', 'exchanges', 'granted', 'denied'],
      report.requesters.map((r) => [r.requester === null ? '(no verified identity)' : code(r.requester), r.exchanges, r.granted, r.denied]),
    ),
    ...section(
      "Grants never revoked or introspected (ended by the window's end)",
      ['policy', 'granted', 'never revoked or introspected', 'grant ids'],
      report.unreleased_grants.map((r) => [name(r.policy), r.granted, r.unreleased, ids(r.grant_ids)]),
    ),
    ...(report.ttl_at_max === null
      ? ['', "## Grants at the policy's maximum TTL", '', 'Skipped: the policy set was not loaded.']
      : section(
          "Grants at the policy's maximum TTL (per the policy set above)",
          ['policy', 'ttl.max', 'granted', 'at ttl.max'],
          report.ttl_at_max.map((r) => [name(r.policy), formatDuration(r.ttl_max), r.granted, r.at_max]),
        )),
    ...section(
      'Granted exchanges without a justification',
      ['policy', 'granted', 'without justification'],
      report.justifications.missing.map((r) => [name(r.policy), r.granted, r.missing]),
    ),
    ...section(
      'Justifications repeated verbatim',
      ['justification', 'times', 'requesters', 'policies'],
      report.justifications.repeated.map((r) => [quote(r.text), r.count, r.requesters, r.policies.map(name).join(', ')]),
    ),
    ...(report.unused_policies === null
      ? ['', '## Policies never used', '', 'Skipped: the policy set was not loaded.']
      : section(
          'Policies never used (no granted exchange in the window)',
          ['policy', 'requests'],
          report.unused_policies.map((r) => [name(r.policy), r.requests]),
        )),
  ];
  return `${lines.join('\n')}\n`;
}

/** A heading and a table, or "None." when there are no rows. */
function section(title: string, header: string[], rows: Array<Array<string | number>>): string[] {
  if (rows.length === 0) return ['', `## ${title}`, '', 'None.'];
  return [
    '',
    `## ${title}`,
    '',
    `| ${header.join(' | ')} |`,
    // Numbers right-aligned, text left.
    `| ${header.map((_, i) => (rows.every((row) => typeof row[i] === 'number') ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

function name(policy: string | null): string {
  return policy === null ? '(none)' : code(policy);
}

/** A name (policy, repository, grant id) as a code span; quoted with {@link quote} unless it is plain name characters. */
function code(text: string): string {
  return /^[\w./:@+-]+$/.test(text) ? `\`${text}\`` : quote(text);
}

function ids(grantIds: readonly string[]): string {
  const shown = grantIds.slice(0, MAX_IDS).map(code).join(', ');
  return grantIds.length > MAX_IDS ? `${shown} and ${grantIds.length - MAX_IDS} more` : shown;
}

/**
 * Untrusted text as a code span holding its JSON string form, escaped to
 * printable ASCII; backticks and pipes (which would end the span or the
 * table cell) as \u escapes too.
 */
export function quote(text: string): string {
  const json = JSON.stringify(text).replace(/[^\x20-\x7e]|[`|]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `\`${json}\``;
}
