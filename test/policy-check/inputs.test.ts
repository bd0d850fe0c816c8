/**
 * The review action's inputs (the runner's `INPUT_*` variables) and the pull
 * request read from the event payload: defaults, the runner's booleans,
 * refusals naming the input, and the events and payloads that are not a
 * usable pull request.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, readInputs, readPullRequest, type ReviewInputs } from '../../policy-check/src/inputs.ts';
import { policyLoadOptions } from '../../policy-check/src/load-options.ts';

const SHA = 'a'.repeat(40);

describe('review inputs', () => {
  const DEFAULTS: ReviewInputs = { policies: 'policies', base: undefined, config: undefined, strict: false, comment: true, token: undefined };
  const CASES: Array<{ name: string; env: Record<string, string>; want: Partial<ReviewInputs> }> = [
    { name: 'nothing set: the defaults', env: {}, want: {} },
    { name: 'blank values count as unset', env: { INPUT_POLICIES: '  ', 'INPUT_GITHUB-TOKEN': '' }, want: {} },
    {
      name: 'every input',
      env: {
        INPUT_POLICIES: 'acl',
        INPUT_BASE: 'origin/main',
        INPUT_CONFIG: 'latchkey.yaml',
        INPUT_STRICT: 'True',
        INPUT_COMMENT: 'FALSE',
        'INPUT_GITHUB-TOKEN': 'ghs_x',
      },
      want: { policies: 'acl', base: 'origin/main', config: 'latchkey.yaml', strict: true, comment: false, token: 'ghs_x' },
    },
  ];
  for (const c of CASES) {
    it(`reads: ${c.name}`, () => {
      assert.deepEqual(readInputs(c.env), { ...DEFAULTS, ...c.want });
    });
  }

  const REFUSALS: Array<{ name: string; env: Record<string, string>; says: RegExp }> = [
    { name: 'strict is not a boolean', env: { INPUT_STRICT: 'yes' }, says: /^ {2}strict: must be true or false$/m },
    { name: 'comment is not a boolean', env: { INPUT_COMMENT: '1' }, says: /^ {2}comment: must be true or false$/m },
    { name: 'base looks like an option', env: { INPUT_BASE: '--output=/tmp/x' }, says: /^ {2}base: must be a git revision, not an option$/m },
  ];
  for (const c of REFUSALS) {
    it(`refuses: ${c.name}`, () => {
      assert.throws(
        () => readInputs(c.env),
        (error: unknown) => error instanceof InputError && c.says.test(error.message),
      );
    });
  }
});

describe('the pull request of the event', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-review-event-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const PR = { pull_request: { number: 42, base: { sha: SHA, ref: 'main' } } };
  const CASES: Array<{ name: string; event?: string; repository?: string; payload: unknown; want: unknown }> = [
    { name: 'a pull_request event', payload: PR, want: { owner: 'acme', repo: 'policies', number: 42, baseSha: SHA, baseRef: 'main' } },
    {
      name: 'a pull_request_target event',
      event: 'pull_request_target',
      payload: PR,
      want: { owner: 'acme', repo: 'policies', number: 42, baseSha: SHA, baseRef: 'main' },
    },
    {
      name: 'a payload without the base ref',
      payload: { pull_request: { number: 42, base: { sha: SHA } } },
      want: { owner: 'acme', repo: 'policies', number: 42, baseSha: SHA, baseRef: undefined },
    },
    { name: 'a push event', event: 'push', payload: PR, want: undefined },
    { name: 'no pull_request in the payload', payload: { ref: 'refs/heads/main' }, want: undefined },
    { name: 'a base sha that is not one', payload: { pull_request: { number: 42, base: { sha: '--all' } } }, want: undefined },
    { name: 'a number that is not one', payload: { pull_request: { number: '42', base: { sha: SHA } } }, want: undefined },
    { name: 'a payload that is not JSON', payload: '{', want: undefined },
    { name: 'GITHUB_REPOSITORY not owner/repo', repository: 'acme', payload: PR, want: undefined },
  ];
  for (const [index, c] of CASES.entries()) {
    it(`reads: ${c.name}`, async () => {
      const path = join(dir, `event-${index}.json`);
      await writeFile(path, typeof c.payload === 'string' ? c.payload : JSON.stringify(c.payload));
      const env = { GITHUB_EVENT_NAME: c.event ?? 'pull_request', GITHUB_EVENT_PATH: path, GITHUB_REPOSITORY: c.repository ?? 'acme/policies' };
      assert.deepEqual(await readPullRequest(env, (file) => readFile(file, 'utf8')), c.want);
    });
  }

  it('reads nothing when the event file is missing', async () => {
    const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: join(dir, 'missing.json'), GITHUB_REPOSITORY: 'acme/policies' };
    assert.equal(await readPullRequest(env, (file) => readFile(file, 'utf8')), undefined);
  });
});

describe('policy load options', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-review-config-'));
    await writeFile(join(dir, 'latchkey.yaml'), 'issuers:\n  ci: { url: "https://gitlab.example.com", kind: gitlab }\nlimits: { max_ttl: 20m }\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // The bundle has no load-worker file: a worker thread must never be asked for.
  it('without a config: any issuer, no worker threads', () => {
    assert.deepEqual(policyLoadOptions(undefined, dir, {}), { threads: 0 });
  });

  it('with a config (relative to the workspace): its issuers and ttl limit, no worker threads', () => {
    assert.deepEqual(policyLoadOptions('latchkey.yaml', dir, {}), { issuers: { ci: { kind: 'gitlab' } }, maxTtl: 1200, threads: 0 });
  });
});
