/**
 * STYLE.md's import rules ("the never rules"), checked by dependency-cruiser
 * with the repo's .dependency-cruiser.cjs: the repo itself has no violation,
 * and each rule fires on a small tree that breaks it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const config = join(repo, '.dependency-cruiser.cjs');
const cruiser = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
/** The folders `npm run deps` checks (keep the two lists the same). */
const folders = ['exchange-service', 'action/src', 'policy-check/src', 'test', 'bench', 'scripts'];

interface Violation {
  rule: string;
  from: string;
  to: string;
  cycle?: string[];
}

interface CruiseOutput {
  summary: {
    violations: { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }[];
    totalCruised: number;
  };
}

/** Runs dependency-cruiser (on this Node, which is 24 under `npm test`) in `cwd` and returns its violations. */
async function cruise(cwd: string, paths: string[]): Promise<{ violations: Violation[]; modules: number }> {
  const stdout = await new Promise<string>((done, fail) => {
    // Exit status is the number of errors, so a non-zero exit with JSON on stdout is an answer, not a failure.
    execFile(process.execPath, [cruiser, '--config', config, '--output-type', 'json', ...paths], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (out.trim().startsWith('{')) done(out);
      else fail(new Error(`dependency-cruiser failed: ${error?.message ?? ''}\n${err}`));
    });
  });
  const output = JSON.parse(stdout) as CruiseOutput;
  const violations = output.summary.violations.map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.to,
    ...(v.cycle ? { cycle: v.cycle.map((step) => step.name) } : {}),
  }));
  return { violations, modules: output.summary.totalCruised };
}

function describeViolation(v: Violation): string {
  return `${v.rule}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${[v.from, ...v.cycle].join(' → ')})` : ''}`;
}

/** Whether the violation points at `to`: the file itself, a package (resolved into node_modules), or a file of the cycle. */
function reaches(v: Violation, to: string | undefined): boolean {
  if (to === undefined) return false;
  return v.to === to || v.to.includes(`node_modules/${to}/`) || (v.cycle?.includes(to) ?? false);
}

describe('import rules', () => {
  it('the repo breaks none of them', async () => {
    const { violations, modules } = await cruise(repo, folders);
    assert.ok(modules > 100, `dependency-cruiser looked at only ${modules} modules: it is not reading the TypeScript sources`);
    assert.equal(violations.length, 0, `${violations.length} import-rule violations:\n${violations.map(describeViolation).join('\n')}`);
  });

  // Each case: a file of the fixture tree, what it imports, and the rule that must name it.
  // A case without a rule must stay unreported.
  const cases: { name: string; file: string; imports: string[]; rule?: string; to?: string }[] = [
    {
      name: 'the Action imports the service',
      file: 'action/src/main.ts',
      imports: ['../../exchange-service/src/app.ts'],
      rule: 'action-imports-nothing-of-the-service',
      to: 'exchange-service/src/app.ts',
    },
    {
      name: 'the Action imports the review Action',
      file: 'action/src/run.ts',
      imports: ['../../policy-check/src/check.ts'],
      rule: 'action-imports-nothing-of-the-service',
      to: 'policy-check/src/check.ts',
    },
    {
      name: 'the review Action reaches past policy/index.ts',
      file: 'policy-check/src/check.ts',
      imports: ['../../exchange-service/src/policy/index.ts', '../../exchange-service/src/policy/model/glob.ts'],
      rule: 'policy-check-only-through-policy-index',
      to: 'exchange-service/src/policy/model/glob.ts',
    },
    {
      name: 'the review Action imports other service code',
      file: 'policy-check/src/load.ts',
      imports: ['../../exchange-service/src/config.ts'],
      rule: 'policy-check-only-through-policy-index',
      to: 'exchange-service/src/config.ts',
    },
    {
      name: 'the CLI reaches past policy/index.ts',
      file: 'exchange-service/src/cli/policy.ts',
      imports: ['../policy/index.ts', '../policy/tools/lint.ts'],
      rule: 'cli-policy-only-through-index',
      to: 'exchange-service/src/policy/tools/lint.ts',
    },
    {
      name: 'a decision imports the edge',
      file: 'exchange-service/src/decisions/revoke.ts',
      imports: ['../http/body.ts'],
      rule: 'core-never-imports-the-edge',
      to: 'exchange-service/src/http/body.ts',
    },
    {
      name: 'the store imports app.ts',
      file: 'exchange-service/src/store/store.ts',
      imports: ['../app.ts'],
      rule: 'core-never-imports-the-edge',
      to: 'exchange-service/src/app.ts',
    },
    { name: 'policy imports hono', file: 'exchange-service/src/policy/model/glob.ts', imports: ['hono'], rule: 'core-never-imports-hono', to: 'hono' },
    {
      name: 'audit imports @hono/node-server',
      file: 'exchange-service/src/audit/report.ts',
      imports: ['@hono/node-server'],
      rule: 'core-never-imports-hono',
      to: '@hono/node-server',
    },
    {
      name: 'policy imports the store',
      file: 'exchange-service/src/policy/load/holder.ts',
      imports: ['../../store/store.ts'],
      rule: 'policy-never-imports-the-store',
      to: 'exchange-service/src/store/store.ts',
    },
    {
      name: 'oidc decides',
      file: 'exchange-service/src/oidc/verify.ts',
      imports: ['../decisions/revoke.ts'],
      rule: 'oidc-never-decides',
      to: 'exchange-service/src/decisions/revoke.ts',
    },
    {
      name: 'oidc evaluates policy',
      file: 'exchange-service/src/oidc/jwks-cache.ts',
      imports: ['../policy/index.ts'],
      rule: 'oidc-never-decides',
      to: 'exchange-service/src/policy/index.ts',
    },
    {
      name: 'the store imports grants',
      file: 'exchange-service/src/store/open.ts',
      imports: ['../grants/minter.ts'],
      rule: 'store-never-imports-grants',
      to: 'exchange-service/src/grants/minter.ts',
    },
    { name: 'a cycle', file: 'exchange-service/src/jws/sign.ts', imports: ['./keys.ts'], rule: 'no-circular', to: 'exchange-service/src/jws/keys.ts' },
    {
      name: 'the other end of the cycle',
      file: 'exchange-service/src/jws/keys.ts',
      imports: ['./sign.ts'],
      rule: 'no-circular',
      to: 'exchange-service/src/jws/sign.ts',
    },
    {
      name: 'a utils.ts that is imported',
      file: 'exchange-service/src/grants/aws.ts',
      imports: ['./utils.ts'],
      rule: 'no-grab-bag-files',
      to: 'exchange-service/src/grants/utils.ts',
    },
    {
      name: 'a helpers.ts that imports',
      file: 'exchange-service/src/audit/helpers.ts',
      imports: ['./report.ts'],
      rule: 'no-grab-bag-files',
      to: 'exchange-service/src/audit/report.ts',
    },
    {
      name: 'a common.ts that neither imports nor is imported',
      file: 'exchange-service/src/store/common.ts',
      imports: [],
      rule: 'no-grab-bag-files',
      to: 'exchange-service/src/store/common.ts',
    },
    {
      name: 'an import that does not resolve',
      file: 'exchange-service/src/decisions/exchange.ts',
      imports: ['./missing.ts'],
      rule: 'no-unresolvable',
      to: './missing.ts',
    },
    {
      name: 'allowed: the edge imports hono and a decision',
      file: 'exchange-service/src/http/routes/token.ts',
      imports: ['hono', '../../decisions/exchange.ts'],
    },
    { name: 'allowed: cli through policy/index.ts', file: 'exchange-service/src/cli/serve.ts', imports: ['../policy/index.ts', '../store/open.ts'] },
  ];
  // Files the cases import but do not write themselves.
  const leaves = [
    'exchange-service/src/app.ts',
    'exchange-service/src/config.ts',
    'exchange-service/src/http/body.ts',
    'exchange-service/src/policy/index.ts',
    'exchange-service/src/policy/model/glob.ts',
    'exchange-service/src/policy/tools/lint.ts',
    'exchange-service/src/grants/minter.ts',
    'exchange-service/src/grants/utils.ts',
    'exchange-service/src/decisions/revoke.ts',
  ];

  it('each rule fires on a tree that breaks it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-import-rules-'));
    try {
      const files = new Map<string, string>(leaves.map((file) => [file, 'export {};\n']));
      for (const c of cases) {
        files.set(c.file, `${c.imports.map((spec) => `import '${spec}';`).join('\n')}\nexport {};\n`);
      }
      for (const [file, text] of files) {
        await mkdir(dirname(join(dir, file)), { recursive: true });
        await writeFile(join(dir, file), text);
      }
      await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir'); // so 'hono' resolves as in the repo
      const { violations } = await cruise(dir, ['exchange-service', 'action', 'policy-check']);
      const reported = violations.map(describeViolation).join('\n');
      for (const c of cases) {
        // dependency-cruiser reports a cycle once, from one of its files.
        const mine = violations.filter((v) => v.from === c.file || v.cycle?.includes(c.file));
        if (c.rule === undefined) {
          assert.deepEqual(mine.map(describeViolation), [], `${c.name}: reported although allowed`);
          continue;
        }
        assert.ok(
          mine.some((v) => v.rule === c.rule && reaches(v, c.to)),
          `${c.name}: expected ${c.rule}: ${c.file} → ${c.to}; reported:\n${reported}`,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
