/**
 * Configuration (SPEC §4): defaults, the YAML file, LATCHKEY_* overrides,
 * and refusals that name the field.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, serviceAudience } from '../exchange-service/src/config.ts';

async function withFile(text: string, run: (file: string) => void | Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-config-'));
  try {
    await writeFile(join(dir, 'latchkey.yaml'), text);
    await run(join(dir, 'latchkey.yaml'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('loadConfig', () => {
  it('has the SPEC defaults', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.listen.port, 8080);
    assert.equal(config.issuers.github?.url, 'https://token.actions.githubusercontent.com');
    assert.equal(config.issuers.github?.jwks_stale_max, 3600);
    assert.equal(config.store.url, 'sqlite:./data/latchkey.db');
    assert.equal(config.limits.max_ttl, 3600);
    assert.equal(config.limits.per_repository_per_minute, 120);
    assert.equal(config.explain_denials, 'conditions');
    assert.equal(serviceAudience(config), config.public_url);
  });

  it('reads the file and lets LATCHKEY_<PATH> override it', async () => {
    await withFile(
      'public_url: https://latchkey.acme.internal\nlimits: { max_ttl: 2h }\nissuers:\n  github: { url: https://token.actions.githubusercontent.com }\n',
      (file) => {
        const config = loadConfig({
          file,
          env: {
            LATCHKEY_STORE_URL: 'sqlite:/tmp/x.db',
            LATCHKEY_LIMITS_MAX_TTL: '30m',
            LATCHKEY_LIMITS_PER_REPOSITORY_PER_MINUTE: '7',
            LATCHKEY_LISTEN_PORT: '9000',
            LATCHKEY_INTROSPECTION_BEARER: '12345',
            LATCHKEY_ISSUERS_GITHUB_JWKS_STALE_MAX: '10m',
            LATCHKEY_AUDIT_STDOUT: 'true',
            LATCHKEY_TRUST_OWNERS: '["acme"]',
            UNRELATED: 'x',
          },
        });
        assert.equal(config.public_url, 'https://latchkey.acme.internal');
        assert.equal(config.store.url, 'sqlite:/tmp/x.db');
        assert.equal(config.limits.max_ttl, 1800);
        assert.equal(config.limits.per_repository_per_minute, 7);
        assert.equal(config.listen.port, 9000);
        assert.equal(config.introspection.bearer, '12345');
        assert.equal(config.issuers.github?.jwks_stale_max, 600);
        assert.equal(config.audit.stdout, true);
        assert.deepEqual(config.trust.owners, ['acme']);
      },
    );
  });

  const refusals: Array<{ name: string; yaml?: string; env?: Record<string, string>; field: RegExp }> = [
    { name: 'unknown key', yaml: 'listne: { port: 1 }\n', field: /listne|Unrecognized/ },
    { name: 'bad duration', env: { LATCHKEY_LIMITS_MAX_TTL: 'forever' }, field: /limits\.max_ttl/ },
    { name: 'http issuer off loopback', yaml: 'issuers:\n  github: { url: http://token.example.com }\n', field: /issuers\.github\.url/ },
    { name: 'bad explain_denials', env: { LATCHKEY_EXPLAIN_DENIALS: 'everything' }, field: /explain_denials/ },
    { name: 'port out of range', env: { LATCHKEY_LISTEN_PORT: '70000' }, field: /listen\.port/ },
    { name: 'an introspection secret no Authorization header can carry', env: { LATCHKEY_INTROSPECTION_BEARER: 'two words' }, field: /introspection\.bearer/ },
    { name: 'not a mapping', yaml: '- a\n- b\n', field: /mapping/ },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}, naming the field`, async () => {
      await withFile(c.yaml ?? '{}\n', (file) => {
        assert.throws(
          () => loadConfig({ file, env: c.env ?? {} }),
          (error: unknown) => error instanceof ConfigError && c.field.test(error.message),
        );
      });
    });
  }

  it('accepts http issuers on loopback for testing', async () => {
    await withFile('issuers:\n  local: { url: "http://127.0.0.1:9999", kind: generic }\n', (file) => {
      assert.equal(loadConfig({ file, env: {} }).issuers.local?.url, 'http://127.0.0.1:9999');
    });
  });
});
