// The import rules of STYLE.md's 'Layout' section ('the never rules'), checked
// by `npm run deps` and by test/architecture/import-rules.test.ts.
// Paths are relative to the folder the check runs in (the repo root).
// TypeScript 7 has no JS API that dependency-cruiser can use, so the sources
// are parsed with @swc/core (options.parser below).

const SRC = '^exchange-service/src/';
// The layers a request passes through between the edge and the store.
const CORE = `${SRC}(decisions|oidc|policy|grants|audit|store|jws)/`;
// Hono itself, resolved (node_modules/…, also through a symlink) or not.
const HONO = '(^|/)node_modules/(hono|@hono/[^/]+)/|^(hono|@hono/[^/]+)(/|$)';
const GRAB_BAG = '(^|/)(utils|helpers|common)\\.[cm]?[jt]sx?$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'action-imports-nothing-of-the-service',
      comment: 'The Action speaks HTTP to the service; it imports nothing of it (nor of the review Action).',
      severity: 'error',
      from: { path: '^action/src/' },
      to: { path: '^(exchange-service|policy-check)/' },
    },
    {
      name: 'policy-check-only-through-policy-index',
      comment: 'The review Action imports the policy package only through exchange-service/src/policy/index.ts, and nothing else of the service.',
      severity: 'error',
      from: { path: '^policy-check/src/' },
      to: { path: '^exchange-service/', pathNot: `${SRC}policy/index\\.ts$` },
    },
    {
      name: 'cli-policy-only-through-index',
      comment: 'The CLI uses the policy package through policy/index.ts only.',
      severity: 'error',
      from: { path: `${SRC}cli/` },
      to: { path: `${SRC}policy/`, pathNot: `${SRC}policy/index\\.ts$` },
    },
    {
      name: 'core-never-imports-the-edge',
      comment: 'decisions, oidc, policy, grants, audit, store and jws know no HTTP: never http/ or app.ts.',
      severity: 'error',
      from: { path: CORE },
      to: { path: `${SRC}(http/|app\\.ts$)` },
    },
    {
      name: 'core-never-imports-hono',
      comment: 'decisions, oidc, policy, grants, audit, store and jws never import hono or @hono/*.',
      severity: 'error',
      from: { path: CORE },
      to: { path: HONO },
    },
    {
      name: 'policy-never-imports-the-store',
      severity: 'error',
      from: { path: `${SRC}policy/` },
      to: { path: `${SRC}store/` },
    },
    {
      name: 'oidc-never-decides',
      comment: 'oidc verifies subject tokens; deciding is for decisions/ and policy/.',
      severity: 'error',
      from: { path: `${SRC}oidc/` },
      to: { path: `${SRC}(decisions|policy)/` },
    },
    {
      name: 'store-never-imports-grants',
      severity: 'error',
      from: { path: `${SRC}store/` },
      to: { path: `${SRC}grants/` },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles in the service, type-only imports included.',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    // No utils.ts, helpers.ts or common.ts: three rules, so that such a file is
    // caught whether it imports something, is imported, or neither.
    {
      name: 'no-grab-bag-files',
      comment: 'A function lives with the concern it serves.',
      severity: 'error',
      from: { path: GRAB_BAG },
      to: {},
    },
    {
      name: 'no-grab-bag-files',
      comment: 'A function lives with the concern it serves.',
      severity: 'error',
      from: {},
      to: { path: GRAB_BAG },
    },
    {
      name: 'no-grab-bag-files',
      comment: 'A function lives with the concern it serves.',
      severity: 'error',
      from: { orphan: true, path: GRAB_BAG },
      to: {},
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve would slip past every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^(action|policy-check|exchange-service)/dist/' },
    enhancedResolveOptions: {
      // Resolve packages the way Node does: through package.json 'exports', ESM first.
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'require'],
      mainFields: ['module', 'main'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
  },
};
