/**
 * The job summary: a table row per grant (policy, kind, target, expiry,
 * grant id) from the main step, and a line for its revocation from the post
 * step. Text from the service is escaped so it cannot break the table.
 */

export interface GrantSummary {
  policy: string;
  kind: string;
  target: string;
  /** ISO 8601 expiry, as the service sent it. */
  expiresAt: string;
  grantId: string;
}

/** Escapes a value for a Markdown table cell (pipes, HTML, line breaks). */
export function cell(value: string): string {
  const escaped = value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
  return escaped === '' ? '—' : escaped;
}

/** The main step's section: heading and one-row table. */
export function grantSummary(grant: GrantSummary): string {
  return [
    '### latchkey grant',
    '',
    '| Policy | Kind | Target | Expires | Grant id |',
    '| --- | --- | --- | --- | --- |',
    `| ${cell(grant.policy)} | ${cell(grant.kind)} | ${cell(grant.target)} | ${cell(grant.expiresAt)} | \`${cell(grant.grantId)}\` |`,
    '',
  ].join('\n');
}

/** The post step's line: revoked, or why not. */
export function revocationSummary(grantId: string, outcome: { revoked: true; at: string } | { revoked: false; why: string }): string {
  const id = `\`${cell(grantId)}\``;
  return outcome.revoked
    ? `**Revoked** grant ${id} at ${cell(outcome.at)} (job end).\n`
    : `**Not revoked**: grant ${id}: ${cell(outcome.why)}. It stays valid until it expires.\n`;
}
