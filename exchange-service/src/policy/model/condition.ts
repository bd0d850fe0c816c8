/**
 * One subject condition (SPEC §2): a claim and its patterns, matched with
 * the issuer kind's case rules. For GitHub-kind issuers, `repository`,
 * `repository_owner` and `environment` compare with ASCII case folding, and
 * `workflow_ref`/`job_workflow_ref` fold only their `owner/repo/` prefix;
 * every other claim compares exactly.
 */
import { FOLDED_CLAIMS, WORKFLOW_REF_CLAIMS, foldOwnerRepoPrefix, foldPatternOwnerRepoPrefix, type IssuerKind } from './claims.ts';
import { compileGlob, foldAscii, isGlob, type GlobMatcher } from './glob.ts';

/** One subject key: holds when the claim matches any of `patterns`. */
export interface CompiledCondition {
  claim: string;
  /** The patterns as written in the file. */
  patterns: readonly string[];
  match(value: string): boolean;
}

/**
 * Builds one condition. For GitHub-kind issuers, `repository`,
 * `repository_owner` and `environment` compare with ASCII case folding, and
 * for `workflow_ref`/`job_workflow_ref` only the `owner/repo/` prefix does:
 * the claim's text up to its second `/` is folded, and so is the pattern's
 * (but never past a `**`, which could reach into the path); the path and
 * ref compare exactly. Every other claim compares exactly.
 */
export function compileCondition(claim: string, patterns: readonly string[], issuerKind: IssuerKind): CompiledCondition {
  return new LazyCondition(claim, patterns, issuerKind === 'github');
}

/**
 * Builds its matcher on first use: a load of 100,000 policies should not
 * compile matchers that no exchange may run. (A class rather than a closure:
 * a million conditions cost noticeably less memory and time this way.)
 * Patterns without a wildcard, the common case, need no matcher at all: the
 * value is looked up among them (ASCII-folded where the claim folds), so
 * they cost no closure per condition and pattern.
 */
class LazyCondition implements CompiledCondition {
  readonly claim: string;
  readonly patterns: readonly string[];
  readonly #github: boolean;
  #compiled: CompiledPatterns | undefined;

  constructor(claim: string, patterns: readonly string[], github: boolean) {
    this.claim = claim;
    this.patterns = patterns;
    this.#github = github;
  }

  match(value: string): boolean {
    const compiled = (this.#compiled ??= compilePatterns(this.claim, this.patterns, this.#github));
    if (compiled === EXACT) return this.patterns.includes(value);
    if (typeof compiled === 'function') return compiled(value);
    return value.length <= compiled.longest && compiled.folded.includes(foldAscii(value));
  }
}

/** Patterns compared as they are, by `includes`. */
const EXACT = Symbol('exact patterns');
/** Patterns compared after ASCII folding (the value is folded too); `longest` spares folding a value that cannot match. */
interface FoldedPatterns {
  folded: readonly string[];
  longest: number;
}
type CompiledPatterns = typeof EXACT | FoldedPatterns | ((value: string) => boolean);

function compilePatterns(claim: string, patterns: readonly string[], github: boolean): CompiledPatterns {
  if (github && WORKFLOW_REF_CLAIMS.has(claim)) {
    const matchers = patterns.map((pattern) => compileGlob(foldPatternOwnerRepoPrefix(pattern), { caseInsensitive: false }));
    return (value) => {
      const folded = foldOwnerRepoPrefix(value);
      return matchers.some((matches) => matches(folded));
    };
  }
  const caseInsensitive = github && FOLDED_CLAIMS.has(claim);
  if (!patterns.some(isGlob)) {
    if (!caseInsensitive) return EXACT;
    return { folded: patterns.map(foldAscii), longest: Math.max(...patterns.map((pattern) => pattern.length)) };
  }
  const matchers: GlobMatcher[] = patterns.map((pattern) => compileGlob(pattern, { caseInsensitive }));
  return (value) => matchers.some((matches) => matches(value));
}
