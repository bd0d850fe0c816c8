/**
 * The dev issuers under `serve --dev` (SPEC §2 last bullet, §7): `dev` and
 * the GHES-shaped `ghes`, so every issuer the shipped examples name is
 * configured; `latchkey dev token --issuer ghes` signs for the second one,
 * and the running service exchanges its tokens under the GHES example.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Config } from '../../exchange-service/src/config.ts';
import { withDevIssuer } from '../../exchange-service/src/cli/serve.ts';
import { runDevCommand } from '../../exchange-service/src/cli/dev.ts';
import { startServer, type RunningServer } from '../../exchange-service/src/server.ts';
import { defaultDevClaims, devIssuerUrl, loadDevIssuerKey, signDevToken } from '../../exchange-service/src/dev/issuer.ts';
import { loadPolicies } from '../../exchange-service/src/policy/load/load.ts';
import { evaluatePolicy } from '../../exchange-service/src/policy/model/evaluate.ts';
import { silentLogger } from '../../exchange-service/src/log.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PUBLIC_URL = 'http://127.0.0.1:8080';

const sink = (into: { text: string }) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.text += chunk.toString();
      done();
    },
  });

describe('withDevIssuer', () => {
  it('adds dev and ghes at their dev URLs', () => {
    const config = withDevIssuer(Config.parse({}));
    assert.deepEqual(Object.keys(config.issuers).sort(), ['dev', 'ghes', 'github']);
    assert.equal(config.issuers.dev?.url, `${PUBLIC_URL}/dev/oidc`);
    assert.equal(config.issuers.ghes?.url, `${PUBLIC_URL}/dev/ghes/_services/token`);
    assert.equal(config.issuers.ghes?.kind, 'github');
  });

  it('keeps a ghes issuer the configuration names', () => {
    const config = withDevIssuer(Config.parse({ issuers: { ghes: { url: 'https://ghe.acme.internal/_services/token' } } }));
    assert.equal(config.issuers.ghes?.url, 'https://ghe.acme.internal/_services/token');
  });

  it('is refused off loopback', () => {
    assert.throws(() => withDevIssuer(Config.parse({ listen: { host: '0.0.0.0' } })), /loopback/);
  });
});

describe('latchkey dev token --issuer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-dev-token-'));
    await writeFile(join(dir, 'latchkey.yaml'), `signing: { keys_dir: ${JSON.stringify(join(dir, 'keys'))} }\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const devToken = async (args: string[]) => {
    const stdout = { text: '' };
    const stderr = { text: '' };
    const code = await runDevCommand(['token', '--config', join(dir, 'latchkey.yaml'), ...args], { stdout: sink(stdout), stderr: sink(stderr), env: {} });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  const CASES: Array<{ name: string; args: string[]; iss: string }> = [
    { name: 'dev by default', args: [], iss: `${PUBLIC_URL}/dev/oidc` },
    { name: '--issuer dev', args: ['--issuer', 'dev'], iss: `${PUBLIC_URL}/dev/oidc` },
    { name: '--issuer ghes', args: ['--issuer', 'ghes', '--claim', 'runner_environment=self-hosted'], iss: `${PUBLIC_URL}/dev/ghes/_services/token` },
  ];
  for (const { name, args, iss } of CASES) {
    it(`signs for ${name}`, async () => {
      const result = await devToken(args);
      assert.equal(result.code, 0, result.stderr);
      const key = (await loadDevIssuerKey(join(dir, 'keys'), false))!;
      const { payload } = await jwtVerify(result.stdout.trim(), createLocalJWKSet({ keys: [key.publicJwk] }), { issuer: iss, audience: PUBLIC_URL });
      assert.equal(payload.iss, iss);
      if (args.includes('--claim')) assert.equal(payload.runner_environment, 'self-hosted');
    });
  }

  it('refuses an issuer that is not a dev issuer (exit 2)', async () => {
    const result = await devToken(['--issuer', 'github']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--issuer must be one of dev, ghes/);
    assert.equal(result.stdout, '');
  });
});

describe('serve --dev with the shipped examples', () => {
  let dir: string;
  let server: RunningServer;
  let config: Config;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-dev-serve-'));
    await cp(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
    config = withDevIssuer(
      Config.parse({
        listen: { host: '127.0.0.1', port: 0 },
        policies: { dir: join(dir, 'policies'), watch: false },
        store: { url: `sqlite:${join(dir, 'data', 'latchkey.db')}` },
        signing: { keys_dir: join(dir, 'keys') },
      }),
    );
    server = await startServer(config, { dev: true, logger: silentLogger, auditStream: sink({ text: '' }) });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const exchange = async (token: string, policy: string) => {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        audience: policy,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const sign = async (issuer: 'dev' | 'ghes', claims: Record<string, unknown> = {}) => {
    const key = (await loadDevIssuerKey(join(dir, 'keys'), false))!;
    return signDevToken({ key, issuer: devIssuerUrl(PUBLIC_URL, issuer), audience: PUBLIC_URL, claims });
  };

  it("serves the GHES issuer's discovery and keys on its GHES-shaped path", async () => {
    const discovery = (await (await fetch(`${server.url}/dev/ghes/_services/token/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    assert.equal(discovery.issuer, `${PUBLIC_URL}/dev/ghes/_services/token`);
    const jwks = await fetch(`${server.url}${new URL(discovery.jwks_uri).pathname}`);
    assert.equal(jwks.status, 200);
    assert.equal(((await jwks.json()) as { keys: unknown[] }).keys.length, 1);
  });

  it('grants the GHES example to a ghes token', async () => {
    const result = await exchange(await sign('ghes', { runner_environment: 'self-hosted' }), 'examples/ghes-artifacts');
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(decodeJwt(String(result.body.access_token)).client_id, 'examples/ghes-artifacts');
  });

  const REFUSALS: Array<{ name: string; issuer: 'dev' | 'ghes'; claims?: Record<string, unknown>; policy: string; reason: string }> = [
    {
      name: 'a dev token for the GHES example',
      issuer: 'dev',
      claims: { runner_environment: 'self-hosted' },
      policy: 'examples/ghes-artifacts',
      reason: 'policy_unknown',
    },
    { name: 'a ghes token for a dev example', issuer: 'ghes', policy: 'examples/hello', reason: 'policy_unknown' },
    { name: 'a ghes token from a GitHub-hosted runner', issuer: 'ghes', policy: 'examples/ghes-artifacts', reason: 'policy_denied' },
  ];
  for (const { name, issuer, claims, policy, reason } of REFUSALS) {
    it(`refuses ${name} (${reason})`, async () => {
      const result = await exchange(await sign(issuer, claims), policy);
      assert.equal(result.status, 400);
      assert.equal(result.body.reason, reason);
    });
  }

  it('grants the recipes their documented dev tokens', async () => {
    const recipes: Array<[string, Record<string, unknown>]> = [
      ['examples/org-read-only', {}],
      ['examples/release-on-tag', { ref: 'refs/tags/v1.2.0', ref_type: 'tag', workflow_ref: 'acme/webapp/.github/workflows/release.yml@refs/tags/v1.2.0' }],
    ];
    for (const [policy, claims] of recipes) {
      const result = await exchange(await sign('dev', claims), policy);
      assert.equal(result.status, 200, `${policy}: ${JSON.stringify(result.body)}`);
    }
  });
});

describe("the examples' documented dev tokens", () => {
  /** The `latchkey dev token …` command in a policy file's comment (joined across `\\` continuations), as issuer and claims. */
  const documentedToken = (text: string): { issuer: string; claims: Record<string, string> } | undefined => {
    const comment = text
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .map((line) => line.replace(/^#\s*/, ''))
      .join('\n')
      .replace(/\\\n/g, ' ');
    const command = /^latchkey dev token(.*)$/m.exec(comment)?.[1];
    if (command === undefined) return undefined;
    const words = command.trim().split(/\s+/);
    const claims: Record<string, string> = {};
    let issuer = 'dev';
    for (let i = 0; i < words.length; i += 2) {
      const value = words[i + 1] ?? '';
      if (words[i] === '--issuer') issuer = value;
      else if (words[i] === '--claim') claims[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
      else assert.fail(`unexpected ${words[i]} in ${command}`);
    }
    return { issuer, claims };
  };

  it('satisfy the policy they are documented with', async () => {
    const dir = join(ROOT, 'policies/examples');
    const set = await loadPolicies(join(ROOT, 'policies'), { issuers: { github: { kind: 'github' }, dev: { kind: 'github' }, ghes: { kind: 'github' } } });
    const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml'));
    let documented = 0;
    for (const file of files) {
      const policy = set.policies.get(`examples/${file.replace(/\.yaml$/, '')}`)!;
      const token = documentedToken(await readFile(join(dir, file), 'utf8')) ?? { issuer: 'dev', claims: {} };
      if (Object.keys(token.claims).length > 0) documented += 1;
      assert.equal(policy.issuer, token.issuer, `${file}: the documented token's issuer`);
      const evaluation = evaluatePolicy(policy, { ...defaultDevClaims(1_800_000_000), ...token.claims });
      assert.equal(evaluation.granted, true, `${file}: ${JSON.stringify(evaluation)}`);
    }
    assert.ok(documented >= 5, `${documented} examples document a dev token with claims`);
  });
});
