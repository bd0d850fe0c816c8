/**
 * The claim rules, in one place: how a claim reads as text, which GitHub
 * claims compare ASCII case-insensitively (wholly, or only their
 * `owner/repo/` prefix), and the `trust.owners` gate.
 * The exchange, `policy explain`, lint, diff and the audit record all use
 * these, so they cannot drift apart.
 */
import { foldAscii } from './glob.ts';

/**
 * A claim as text, the way policy matching and the audit record read it:
 * strings as they are, booleans and finite numbers by their JSON text,
 * anything else (objects, arrays, null, missing) null, so a claim is never
 * coerced from an object.
 */
export function claimText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return JSON.stringify(value);
  return null;
}

/** How an issuer's claims are shaped; `github` turns on the repository rules and case folding. */
export type IssuerKind = 'github' | 'gitlab' | 'generic';

/** GitHub claims whose values GitHub treats case-insensitively (owner and repository names, environments). */
export const FOLDED_CLAIMS: ReadonlySet<string> = new Set(['repository', 'repository_owner', 'environment']);

/** GitHub claims of the form `owner/repo/path@ref`: the `owner/repo/` prefix folds, the rest is exact. */
export const WORKFLOW_REF_CLAIMS: ReadonlySet<string> = new Set(['workflow_ref', 'job_workflow_ref']);

/** ASCII-folds a claim value up to and including its second `/` (`Acme/WebApp/.github/...` → `acme/webapp/.github/...`). */
export function foldOwnerRepoPrefix(text: string): string {
  const end = ownerRepoPrefixEnd(text);
  return foldAscii(text.slice(0, end)) + text.slice(end);
}

/**
 * Folds a pattern's `owner/repo/` prefix, as {@link foldOwnerRepoPrefix}
 * folds the value it is matched against. A single `*` cannot cross `/`, so
 * the pattern's first two `/` meet the value's; past a `**` that no longer
 * holds, so folding stops there.
 */
export function foldPatternOwnerRepoPrefix(pattern: string): string {
  const globstar = pattern.indexOf('**');
  const end = Math.min(ownerRepoPrefixEnd(pattern), globstar === -1 ? pattern.length : globstar);
  return foldAscii(pattern.slice(0, end)) + pattern.slice(end);
}

/** The index just past the second `/`, or the text's length when it has fewer. */
function ownerRepoPrefixEnd(text: string): number {
  const first = text.indexOf('/');
  const second = first === -1 ? -1 : text.indexOf('/', first + 1);
  return second === -1 ? text.length : second + 1;
}

/**
 * The `trust.owners` gate: true when `trustedOwners` is unset, or the
 * token's `repository_owner` is one of them (ASCII case-insensitively, as
 * GitHub compares owner names). Only own claims count.
 */
export function isTrustedOwner(claims: Readonly<Record<string, unknown>>, trustedOwners: readonly string[] | undefined): boolean {
  if (trustedOwners === undefined) return true;
  const owner = ownerOf(claims);
  return owner !== null && trustedOwners.some((name) => foldAscii(name) === foldAscii(owner));
}

/** The token's `repository_owner` as text, or null. */
export const ownerOf = (claims: Readonly<Record<string, unknown>>): string | null =>
  claimText(Object.hasOwn(claims, 'repository_owner') ? claims.repository_owner : undefined);
