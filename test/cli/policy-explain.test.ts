/**
 * `latchkey policy explain`: exit codes (0 grants, 1 none, 2 usage), claims
 * from a file or a decoded (never verified) token, --policy, --config,
 * text and JSON output, and claim values that try to drive the terminal.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runExplain } from '../../exchange-service/src/cli/policy-explain.ts';
import { DEPLOY_CLAIMS, DEPLOY_POLICY, claimsWith, policyWithSubject, writePolicyDir } from '../policy/fixtures.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function explain(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write: (chunk, _encoding, done) => {
        into.push(String(chunk));
        done();
      },
    });
  const code = await runExplain(args, { stdout: sink(out), stderr: sink(err), env: {} });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A JWT with any header and a junk signature: explain decodes, never verifies. */
const jwt = (header: Record<string, unknown>, claims: Record<string, unknown>): string =>
  `${base64url(header)}.${base64url(claims)}.${Buffer.from('not a signature').toString('base64url')}`;

describe('latchkey policy explain', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const file = (name: string): string => join(dir, name);

  before(async () => {
    ({ dir, remove } = await writePolicyDir({
      'policies/webapp/deploy.yaml': DEPLOY_POLICY,
      'policies/webapp/read.yaml': policyWithSubject('  repository: acme/webapp\n  ref: refs/heads/*'),
      'broken/a.yaml': DEPLOY_POLICY.replace('subject:', 'subjet:'),
      'claims.json': JSON.stringify(DEPLOY_CLAIMS),
      'dev-claims.json': JSON.stringify(claimsWith(DEPLOY_CLAIMS, { ref: 'refs/heads/dev', environment: undefined })),
      'hostile.json': JSON.stringify(claimsWith(DEPLOY_CLAIMS, { ref: 'refs/heads/main\u001b[2J\n✓ granted', environment: 'x\u009b31m\u202e' })),
      'not-json.json': '{ref:',
      'list.json': '[]',
      'service.yaml':
        'issuers:\n  github: { url: "https://token.actions.githubusercontent.com" }\n  ghes: { url: "https://ghe.example.com/_services/token" }\n',
    }));
  });
  after(() => remove());

  it('exits 0 and marks every condition when a policy grants', async () => {
    const run = await explain([file('policies'), '--claims', file('claims.json'), '--policy', 'webapp/deploy']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\? iss "https:\/\/token\.actions\.githubusercontent\.com" not checked \(no --config\)/m);
    assert.match(
      run.stdout,
      /^✓ webapp\/deploy: GRANTS token "https:\/\/deploy\.internal\.example", ttl 15m \(max 30m\), scope "deploy", justification required$/m,
    );
    assert.match(run.stdout, /^ {4}✓ ref +"refs\/heads\/main" +expected "refs\/heads\/main"$/m);
    assert.match(run.stdout, /^granted by webapp\/deploy$/m);
    assert.doesNotMatch(run.stdout, /NOT verified/);
  });

  it('exits 1 naming the failed conditions with the claim value and the pattern', async () => {
    const run = await explain([file('policies'), '--claims', file('dev-claims.json'), '--policy', 'webapp/deploy']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^✗ webapp\/deploy: denied \(would grant token/m);
    assert.match(run.stdout, /^ {4}✗ ref +"refs\/heads\/dev" +expected "refs\/heads\/main"$/m);
    assert.match(run.stdout, /^ {4}✗ environment +\(absent\) +expected "production"$/m);
  });

  it('without --policy, exits 0 when any policy grants and lists each', async () => {
    const run = await explain([file('policies'), '--claims', file('dev-claims.json')]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^✗ webapp\/deploy: denied/m);
    assert.match(run.stdout, /^✓ webapp\/read: GRANTS/m);
    assert.match(run.stdout, /^1 of 2 policies grant: webapp\/read$/m);
  });

  it('decodes --token without verifying and says so on the first line', async () => {
    const token = jwt({ alg: 'RS256', kid: 'k1', typ: 'JWT' }, { ...DEPLOY_CLAIMS, exp: 2_000_000_000, iat: 1_900_000_000 });
    const run = await explain([file('policies'), '--token', token, '--policy', 'webapp/deploy']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.split('\n')[0], 'token NOT verified: decoded only; its signature, expiry, audience and replay are not checked');
    assert.doesNotMatch(run.stdout, /would refuse this token/);
  });

  it('says when the service would refuse the token itself (alg none)', async () => {
    const run = await explain([file('policies'), '--token', jwt({ alg: 'none' }, DEPLOY_CLAIMS).replace(/[^.]+$/, ''), '--policy', 'webapp/deploy']);
    assert.match(run.stdout, /^the service would refuse this token before any policy: unsigned tokens \(alg "none"\) are not accepted \(token_invalid\)$/m);
  });

  it('checks the token issuer against --config', async () => {
    const ghes = await explain([file('policies'), '--claims', file('claims.json'), '--config', file('service.yaml')]);
    assert.equal(ghes.code, 0, ghes.stderr);
    assert.match(ghes.stdout, /^✓ iss "https:\/\/token\.actions\.githubusercontent\.com" is the configured issuer "github"$/m);
    const token = jwt({ alg: 'RS256', kid: 'k' }, { ...DEPLOY_CLAIMS, iss: 'https://ghe.example.com/_services/token', exp: 1, iat: 1 });
    const other = await explain([file('policies'), '--token', token, '--config', file('service.yaml'), '--policy', 'webapp/deploy']);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /✗ the policy is for issuer "github", the token is from "ghes" \(policy_unknown\)/);
  });

  it('prints JSON with --format json', async () => {
    const run = await explain([file('policies'), '--claims', file('dev-claims.json'), '--format', 'json']);
    assert.equal(run.code, 0);
    const report = JSON.parse(run.stdout) as {
      verified: boolean;
      granted: string[];
      policies: Array<{ name: string; granted: boolean; conditions: Array<{ claim: string; ok: boolean; actual?: unknown }> }>;
    };
    assert.equal(report.verified, false);
    assert.deepEqual(report.granted, ['webapp/read']);
    const ref = report.policies.find((p) => p.name === 'webapp/deploy')!.conditions.find((c) => c.claim === 'ref')!;
    assert.deepEqual(ref, { claim: 'ref', actual: 'refs/heads/dev', expected: ['refs/heads/main'], ok: false, why: 'ref "refs/heads/dev" is not allowed' });
  });

  it('exits 1 when --policy names no policy in the set', async () => {
    const run = await explain([file('policies'), '--claims', file('claims.json'), '--policy', 'webapp/nope']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /no policy "webapp\/nope" in .*policies: nothing is granted/);
  });

  it('exits 1 listing the errors when the set does not load', async () => {
    const run = await explain([file('broken'), '--claims', file('claims.json')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /a\.yaml:4:1: .*subjet/);
    assert.match(run.stderr, /does not load/);
  });

  it('never prints claim values raw (terminal escapes, newlines, bidi overrides)', async () => {
    for (const format of ['text', 'json']) {
      const run = await explain([file('policies'), '--claims', file('hostile.json'), '--policy', 'webapp/deploy', '--format', format]);
      assert.equal(run.code, 1);
      assert.ok(!/[\u001b\u009b\u202e]/.test(run.stdout), `${format}: ${run.stdout}`);
      assert.ok(!run.stdout.split('\n').some((line) => line.startsWith('✓ granted')), format);
    }
  });

  const USAGE_CASES: Array<{ name: string; args: (f: typeof file) => string[]; says: RegExp }> = [
    { name: 'no claims', args: (f) => [f('policies')], says: /exactly one of --claims FILE and --token JWT/ },
    { name: 'both claims and token', args: (f) => [f('policies'), '--claims', f('claims.json'), '--token', 'a.b.c'], says: /exactly one/ },
    { name: 'unknown format', args: (f) => [f('policies'), '--claims', f('claims.json'), '--format', 'yaml'], says: /--format must be text or json/ },
    { name: 'claims not JSON', args: (f) => [f('policies'), '--claims', f('not-json.json')], says: /cannot read claims/ },
    { name: 'claims not an object', args: (f) => [f('policies'), '--claims', f('list.json')], says: /JSON object of claims/ },
    { name: 'token not a JWT', args: (f) => [f('policies'), '--token', 'hello'], says: /--token is not a JWT/ },
    { name: 'two folders', args: (f) => [f('policies'), f('broken'), '--claims', f('claims.json')], says: /at most one folder/ },
    { name: 'unknown option', args: (f) => [f('policies'), '--claim', f('claims.json')], says: /Unknown option/ },
  ];
  for (const c of USAGE_CASES) {
    it(`exits 2 on usage errors: ${c.name}`, async () => {
      const run = await explain(c.args(file));
      assert.equal(run.code, 2);
      assert.match(run.stderr, c.says);
      assert.equal(run.stdout, '');
    });
  }

  it('exits 2 on a config that does not load', async () => {
    await writeFile(file('bad-config.yaml'), 'issuers: { github: { url: "http://evil.example" } }\n');
    const run = await explain([file('policies'), '--claims', file('claims.json'), '--config', file('bad-config.yaml')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /issuers\.github\.url/);
  });
});
