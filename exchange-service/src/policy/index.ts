/**
 * The policy package's public surface: the only module that code outside
 * `policy/` (the CLI, the review Action) imports from. Anything not
 * re-exported here is internal to the package.
 */

// Loading a policy folder.
export {
  formatProblem,
  loadPolicies,
  PolicyLoadError,
  type LoadPoliciesOptions,
  type PolicyProblem,
} from './load/load.ts';
export { loadOptionsOf, readLoadOptions } from './load/service-config.ts';

// The model.
export type { CompiledPolicy } from './model/compile.ts';
export type { ConditionResult } from './model/evaluate.ts';
export { escapeDisplayUnsafe, showValue } from './model/show-value.ts';
export { policyJsonSchema } from './model/schema.ts';
export { schemaKeysAt, unknownKeyMessage } from './model/did-you-mean.ts';

// Tools: lint, explain, diff.
export { lintPolicies, type LintWarning } from './tools/lint.ts';
export { checkExitCode, formatCheckReport, type CheckFormat, type CheckReport } from './tools/lint-report.ts';
export { explainClaims, ttlText, type ExplainOptions, type Explanation, type PolicyExplanation } from './tools/explain.ts';
export { diffPolicySets, type DiffSide } from './tools/diff.ts';
export { DIFF_MARKER, renderDiffMarkdown, summarizeDiff } from './tools/diff-markdown.ts';
export {
  GitRevisionError,
  repositoryRoot,
  resolveCommit,
  snapshotFolder,
  type FolderSnapshot,
} from './tools/git-revision.ts';
