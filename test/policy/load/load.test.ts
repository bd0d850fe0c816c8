/**
 * Loading a policies folder from real files in temporary folders (ATTACKS.md
 * 23–24): every kind of bad file is refused with its file and line, the set
 * is all or nothing, names collide by case and extension, the version comes
 * from git or a digest, and large folders load on worker threads with the
 * same outcome as inline.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadPolicies,
  PolicyLoadError,
  formatProblem,
  type PolicyProblem,
  type PolicySet,
  type LoadPoliciesOptions,
} from '../../../exchange-service/src/policy/load/load.ts';
import { evaluatePolicy } from '../../../exchange-service/src/policy/model/evaluate.ts';
import { defaultDevClaims } from '../../../exchange-service/src/dev/issuer.ts';
import { policyWithSubject, writeFiles, writePolicyDir } from '../fixtures.ts';

const GOOD = policyWithSubject('  repository: acme/webapp\n  repository_id: "892341"\n  ref: refs/heads/main');

async function loadError(files: Record<string, string | Uint8Array>, options: LoadPoliciesOptions = {}): Promise<PolicyProblem[]> {
  const { dir, remove } = await writePolicyDir(files);
  try {
    await loadPolicies(dir, options);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    // Report paths below the folder, so cases can name them.
    return error.problems.map((problem) => ({ ...problem, file: problem.file.slice(dir.length + 1) }));
  } finally {
    await remove();
  }
  assert.fail('the set loaded');
}

interface Case {
  name: string;
  files: Record<string, string | Uint8Array>;
  options?: LoadPoliciesOptions;
  /** Every problem expected: file, line, and what the message says. */
  problems: Array<{ file: string; line: number; says: RegExp }>;
}

const CASES: Case[] = [
  {
    name: 'unknown top-level key (a typo)',
    files: { 'a.yaml': GOOD.replace('subject:', 'subjet:') },
    problems: [
      { file: 'a.yaml', line: 1, says: /^missing required key "subject"$/ },
      { file: 'a.yaml', line: 3, says: /^unknown key "subjet" \(did you mean "subject"\?\)$/ },
    ],
  },
  {
    name: 'unknown nested key',
    files: { 'a.yaml': GOOD.replace('audience:', 'audiance:') },
    problems: [
      { file: 'a.yaml', line: 9, says: /^grant\.token: missing required key "audience"$/ },
      { file: 'a.yaml', line: 9, says: /^grant\.token: unknown key "audiance" \(did you mean "audience"\?\)$/ },
    ],
  },
  {
    name: 'ATTACKS 23: wrong type',
    files: { 'a.yaml': GOOD.replace('ttl: { default: 10m, max: 30m }', 'ttl: 10m') },
    problems: [{ file: 'a.yaml', line: 7, says: /^ttl: expected object, received string$/ }],
  },
  {
    name: 'ATTACKS 23: unquoted number in the subject',
    files: { 'a.yaml': GOOD.replace('"892341"', '892341') },
    problems: [{ file: 'a.yaml', line: 5, says: /^subject\.repository_id: .*quote numbers/ }],
  },
  {
    name: 'ATTACKS 23: a wrong item in a list',
    files: { 'a.yaml': GOOD.replace('ref: refs/heads/main', 'ref: [refs/heads/main, 7]') },
    problems: [{ file: 'a.yaml', line: 6, says: /^subject\.ref\[1\]: expected string, received number$/ }],
  },
  {
    name: 'two grant kinds',
    files: { 'a.yaml': `${GOOD}  github: { repositories: [webapp], permissions: { contents: read } }\n` },
    problems: [{ file: 'a.yaml', line: 8, says: /^grant: grant must have exactly one of token, aws, github \(found: token, github\)$/ }],
  },
  {
    name: 'ATTACKS 23: no grant kind',
    files: { 'a.yaml': GOOD.replace(/grant:[\s\S]*$/, 'grant: {}\n') },
    problems: [{ file: 'a.yaml', line: 8, says: /found: none/ }],
  },
  {
    name: 'ATTACKS 23: no repository constraint',
    files: { 'a.yaml': policyWithSubject('  ref: refs/heads/main') },
    problems: [{ file: 'a.yaml', line: 3, says: /^subject: a GitHub policy must constrain the repository/ }],
  },
  {
    name: 'ATTACKS 23: * in the owner part',
    files: { 'a.yaml': GOOD.replace('repository: acme/webapp', 'repository: "*/webapp"') },
    problems: [{ file: 'a.yaml', line: 4, says: /owner part/ }],
  },
  {
    name: 'ATTACKS 23: ttl.max above the service cap',
    files: { 'a.yaml': GOOD.replace('max: 30m', 'max: 2h') },
    options: { maxTtl: 3600 },
    problems: [{ file: 'a.yaml', line: 7, says: /^ttl\.max: 2h is above the service's limits\.max_ttl \(1h\)$/ }],
  },
  {
    name: 'ATTACKS 23: bad duration (no unit)',
    files: { 'a.yaml': GOOD.replace('default: 10m', 'default: "15"') },
    problems: [{ file: 'a.yaml', line: 7, says: /^ttl\.default: expected a duration such as 30s, 10m or 1h$/ }],
  },
  {
    name: 'ATTACKS 23: zero duration',
    files: { 'a.yaml': GOOD.replace('default: 10m', 'default: 0s') },
    problems: [{ file: 'a.yaml', line: 7, says: /^ttl\.default: expected a positive duration/ }],
  },
  {
    name: 'ATTACKS 23: version 2',
    files: { 'a.yaml': GOOD.replace('version: 1', 'version: 2') },
    problems: [{ file: 'a.yaml', line: 1, says: /^version: version must be 1$/ }],
  },
  {
    name: 'ATTACKS 23: issuer not configured',
    files: { 'a.yaml': GOOD.replace('version: 1', 'version: 1\nissuer: ghes') },
    options: { issuers: { github: { kind: 'github' } } },
    problems: [{ file: 'a.yaml', line: 2, says: /^issuer "ghes" is not configured on this service \(configured: github\)$/ }],
  },
  {
    name: 'ATTACKS 23: default issuer not configured',
    files: { 'a.yaml': GOOD },
    options: { issuers: { dev: { kind: 'github' } } },
    problems: [{ file: 'a.yaml', line: 1, says: /^issuer "github" is not configured/ }],
  },
  // The parser notices the unclosed list where the next line starts.
  {
    name: 'ATTACKS 23: YAML syntax error',
    files: { 'a.yaml': GOOD.replace('ref: refs/heads/main', 'ref: [refs/heads/main') },
    problems: [{ file: 'a.yaml', line: 7, says: /^YAML: Flow sequence .* must .* end with a \]$/ }],
  },
  {
    name: 'ATTACKS 23: duplicate key',
    files: { 'a.yaml': GOOD.replace('ref: refs/heads/main', 'ref: refs/heads/main\n  ref: refs/heads/dev') },
    problems: [{ file: 'a.yaml', line: 7, says: /^YAML: Map keys must be unique/ }],
  },
  {
    name: 'ATTACKS 23: __proto__ as a claim name',
    files: { 'a.yaml': GOOD.replace('ref: refs/heads/main', '__proto__: refs/heads/main') },
    problems: [{ file: 'a.yaml', line: 6, says: /^subject: "__proto__" is not allowed as a key$/ }],
  },
  { name: 'ATTACKS 23: empty file', files: { 'a.yaml': '' }, problems: [{ file: 'a.yaml', line: 1, says: /expected object, received null/ }] },
  {
    name: 'ATTACKS 23: invalid UTF-8',
    files: { 'a.yaml': Buffer.from([0x76, 0x3a, 0x20, 0xff, 0xfe, 0x0a]) },
    problems: [{ file: 'a.yaml', line: 1, says: /^the file is not valid UTF-8$/ }],
  },
  {
    name: 'ATTACKS 23: invalid name (upper case)',
    files: { 'Deploy.yaml': GOOD },
    problems: [{ file: 'Deploy.yaml', line: 1, says: /"Deploy" is not a valid policy name/ }],
  },
  {
    name: 'ATTACKS 23: invalid name (segment starts with -)',
    files: { 'team/-x.yaml': GOOD },
    problems: [{ file: 'team/-x.yaml', line: 1, says: /"team\/-x" is not a valid policy name/ }],
  },
  {
    name: 'ATTACKS 23: upper-case extension',
    files: { 'a.YAML': GOOD },
    problems: [{ file: 'a.YAML', line: 1, says: /extension must be \.yaml or \.yml in lower case/ }],
  },
  // ATTACKS 24
  {
    name: 'same name by extension',
    files: { 'a.yaml': GOOD, 'a.yml': GOOD },
    problems: [
      { file: 'a.yaml', line: 1, says: /two files define the policy "a" .*: this one and .*a\.yml$/ },
      { file: 'a.yml', line: 1, says: /two files define the policy "a" .*a\.yaml$/ },
    ],
  },
  {
    name: 'same name by case',
    files: { 'team/A.yaml': GOOD, 'team/a.yaml': GOOD },
    problems: [
      { file: 'team/A.yaml', line: 1, says: /"team\/A" is not a valid policy name/ },
      { file: 'team/A.yaml', line: 1, says: /two files define the policy "team\/a"/ },
      { file: 'team/a.yaml', line: 1, says: /two files define the policy "team\/a"/ },
    ],
  },
  {
    name: 'problems in several files are all listed (never a partial set)',
    files: { 'a.yaml': GOOD, 'b.yaml': GOOD.replace('version: 1', 'version: 2'), 'c/d.yml': GOOD.replace('subject:', 'subjet:') },
    problems: [
      { file: 'b.yaml', line: 1, says: /version must be 1/ },
      { file: 'c/d.yml', line: 1, says: /missing required key "subject"/ },
      { file: 'c/d.yml', line: 3, says: /unknown key "subjet"/ },
    ],
  },
];

describe('loadPolicies refuses bad sets with file and line', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const problems = await loadError(c.files, c.options);
      const shown = problems.map(formatProblem).join('\n');
      assert.equal(problems.length, c.problems.length, shown);
      c.problems.forEach((expected, i) => {
        const actual = problems[i]!;
        assert.equal(actual.file, expected.file, shown);
        assert.equal(actual.line, expected.line, shown);
        assert.equal(typeof actual.column, 'number', shown);
        assert.match(actual.message, expected.says, shown);
      });
    });
  }

  it('refuses a folder that does not exist', async () => {
    await assert.rejects(
      loadPolicies('/nonexistent/latchkey-policies'),
      (error: unknown) => error instanceof PolicyLoadError && /cannot read the folder: ENOENT/.test(error.message),
    );
  });

  it('gives the same problems when read on worker threads', async () => {
    const { dir, remove } = await writePolicyDir({
      'ok.yaml': GOOD,
      'bad.yaml': GOOD.replace('subject:', 'subjet:'),
      'x/y.yaml': GOOD.replace('max: 30m', 'max: 2h'),
    });
    try {
      const inline = await loadPolicies(dir, { maxTtl: 3600, threads: 0 }).catch((error: unknown) => error);
      const threaded = await loadPolicies(dir, { maxTtl: 3600, threads: 2 }).catch((error: unknown) => error);
      assert.ok(inline instanceof PolicyLoadError && threaded instanceof PolicyLoadError);
      assert.equal(inline.problems.length, 3);
      assert.deepEqual(threaded.problems, inline.problems);
    } finally {
      await remove();
    }
  });
});

describe('loadPolicies loads good sets', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let set: PolicySet;
  before(async () => {
    ({ dir, remove } = await writePolicyDir({
      'webapp/deploy-prod.yaml': GOOD,
      'webapp/read.yml': GOOD.replace('refs/heads/main', 'refs/heads/**'),
      'crlf.yaml': GOOD.replaceAll('\n', '\r\n'),
      'gitlab/build.yaml': policyWithSubject('  project_path: acme/webapp', 'issuer: gitlab\n'),
      '.hidden.yaml': 'not: a policy',
      '.git/HEAD.yaml': 'not: a policy',
      'README.md': '# docs',
      'policy.schema.json': '{}',
      'notes.txt': 'x',
    }));
    set = await loadPolicies(dir, { issuers: { github: { kind: 'github' }, gitlab: { kind: 'gitlab' } }, maxTtl: 3600 });
  });
  after(() => remove());

  it('names policies by path, skipping dotfiles and non-YAML files', () => {
    assert.deepEqual([...set.policies.keys()], ['crlf', 'gitlab/build', 'webapp/deploy-prod', 'webapp/read']);
    assert.equal(set.policies.get('webapp/read')!.file, join(dir, 'webapp/read.yml'));
  });

  it('records each file digest (SHA-256 of the bytes) and issuer', async () => {
    const policy = set.policies.get('webapp/deploy-prod')!;
    assert.equal(
      policy.digest,
      createHash('sha256')
        .update(await readFile(join(dir, 'webapp/deploy-prod.yaml')))
        .digest('hex'),
    );
    assert.notEqual(set.policies.get('crlf')!.digest, policy.digest, 'other bytes, other digest');
    assert.equal(set.policies.get('gitlab/build')!.issuer, 'gitlab');
  });

  it('versions a folder outside git by a digest of names and file digests', async () => {
    assert.match(set.version, /^sha256:[0-9a-f]{64}$/);
    const again = await loadPolicies(dir, { issuers: { github: { kind: 'github' }, gitlab: { kind: 'gitlab' } } });
    assert.equal(again.version, set.version, 'same files, same version');
    await writeFile(join(dir, 'webapp/read.yml'), GOOD.replace('refs/heads/main', 'refs/heads/release'));
    const changed = await loadPolicies(dir, { issuers: { github: { kind: 'github' }, gitlab: { kind: 'gitlab' } } });
    assert.notEqual(changed.version, set.version);
    assert.ok(changed.loadedAt instanceof Date);
  });

  it('loads the same set on worker threads', async () => {
    const threaded = await loadPolicies(dir, { issuers: { github: { kind: 'github' }, gitlab: { kind: 'gitlab' } }, threads: 2 });
    const inline = await loadPolicies(dir, { issuers: { github: { kind: 'github' }, gitlab: { kind: 'gitlab' } }, threads: 0 });
    assert.equal(threaded.version, inline.version);
    assert.deepEqual(
      [...threaded.policies.values()].map((p) => [p.name, p.digest, p.conditions.map((c) => c.patterns)]),
      [...inline.policies.values()].map((p) => [p.name, p.digest, p.conditions.map((c) => c.patterns)]),
    );
    assert.equal(
      evaluatePolicy(threaded.policies.get('webapp/deploy-prod')!, { repository: 'ACME/webapp', repository_id: '892341', ref: 'refs/heads/main' }).granted,
      true,
    );
  });

  it('follows symbolic links (ConfigMap mounts) and reads each real folder once', async () => {
    const { dir: linked, remove: removeLinked } = await writePolicyDir({ '..data/app.yaml': GOOD });
    try {
      await symlink(join(linked, '..data/app.yaml'), join(linked, 'app.yaml'));
      await symlink(linked, join(linked, 'loop'));
      const loaded = await loadPolicies(linked);
      assert.deepEqual([...loaded.policies.keys()], ['app']);
    } finally {
      await removeLinked();
    }
  });
});

describe('policy set version from git', () => {
  it('is the commit, with -dirty and the set digest while the folder has changes', async (t) => {
    const { dir, remove } = await writePolicyDir({ 'policies/a.yaml': GOOD, 'other.txt': 'x' });
    t.after(remove);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, ...args], {
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
      }).trim();
    git('init', '--quiet');
    git('add', '.');
    git('commit', '--quiet', '-m', 'policies');
    const head = git('rev-parse', 'HEAD');
    const policies = join(dir, 'policies');
    assert.equal((await loadPolicies(policies)).version, head);
    await writeFile(join(dir, 'other.txt'), 'changed outside the folder');
    assert.equal((await loadPolicies(policies)).version, head, 'changes outside the policies folder do not count');
    await writeFiles(policies, { 'b.yaml': GOOD });
    const dirty = (await loadPolicies(policies)).version;
    assert.match(dirty, new RegExp(`^${head}-dirty\\+[0-9a-f]{12}$`));
    await writeFiles(policies, { 'c.yaml': GOOD });
    const dirtier = (await loadPolicies(policies)).version;
    assert.match(dirtier, new RegExp(`^${head}-dirty\\+[0-9a-f]{12}$`));
    assert.notEqual(dirtier, dirty, 'two different uncommitted sets have different versions');
  });
});

describe('the shipped examples', () => {
  const examples = join(import.meta.dirname, '../../../policies');
  it('load for a service with the dev issuers, and hello grants a default dev token', async () => {
    const set = await loadPolicies(examples, { issuers: { github: { kind: 'github' }, dev: { kind: 'github' }, ghes: { kind: 'github' } }, maxTtl: 3600 });
    const hello = set.policies.get('examples/hello');
    assert.ok(hello, [...set.policies.keys()].join(', '));
    assert.equal(hello.issuer, 'dev');
    assert.deepEqual(hello.grant, { kind: 'token', audience: 'https://internal.example', scope: ['artifacts:read', 'artifacts:write'] });
    assert.deepEqual(hello.ttl, { default: 600, max: 1800 });
    const claims = defaultDevClaims(1_800_000_000);
    assert.equal(evaluatePolicy(hello, claims).granted, true);
    assert.equal(evaluatePolicy(hello, { ...claims, ref: 'refs/heads/feature' }).granted, false);
  });

  it('deploy-with-justification requires a justification and the production environment', async () => {
    const set = await loadPolicies(examples, { issuers: { dev: { kind: 'github' }, ghes: { kind: 'github' } } });
    const deploy = set.policies.get('examples/deploy-with-justification')!;
    assert.equal(deploy.justification, 'required');
    const claims = defaultDevClaims(1_800_000_000);
    assert.equal(evaluatePolicy(deploy, claims).granted, false, 'no environment claim by default');
    assert.equal(evaluatePolicy(deploy, { ...claims, environment: 'production' }).granted, true);
  });

  it('are refused by a service without the dev issuers', async () => {
    await assert.rejects(
      loadPolicies(examples, { issuers: { github: { kind: 'github' } } }),
      (error: unknown) => error instanceof PolicyLoadError && error.problems.every((p) => /issuer "(dev|ghes)" is not configured/.test(p.message)),
    );
  });
});
