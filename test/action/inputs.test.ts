/**
 * readInputs: the `INPUT_*` variables as the runner sets them, to the typed
 * inputs or an InputError naming every bad input. The defaults checked here
 * are the ones action.yml declares (read from the file, as the runner does).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { INPUT_NAMES, InputError, inputVariable, readInputs, type Inputs } from '../../action/src/inputs.ts';

const manifest = parseYaml(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, unknown>;
};

/** The runner's environment for a `with:` block: defaults from action.yml, then the given values. */
function runnerEnv(given: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, input] of Object.entries(manifest.inputs)) if (input.default !== undefined) env[inputVariable(name)] = input.default;
  for (const [name, value] of Object.entries(given)) env[inputVariable(name)] = value;
  return env;
}

const REQUIRED = { url: 'https://latchkey.acme.internal', policy: 'webapp/deploy-prod' };

describe('action.yml', () => {
  it('declares exactly the inputs the Action reads, with SPEC §6 defaults', () => {
    assert.deepEqual(Object.keys(manifest.inputs).sort(), [...INPUT_NAMES].sort());
    const defaults = Object.fromEntries(
      Object.entries(manifest.inputs)
        .filter(([, i]) => i.default !== undefined)
        .map(([n, i]) => [n, String(i.default)]),
    );
    assert.deepEqual(defaults, { 'export-env': 'true', 'output-credentials': 'false', revoke: 'true', retries: '3', 'token-env-name': 'LATCHKEY_TOKEN' });
    assert.equal(manifest.inputs.url?.required, true);
    assert.equal(manifest.inputs.policy?.required, true);
  });

  it('declares the SPEC §6 outputs', () => {
    assert.deepEqual(Object.keys(manifest.outputs).sort(), [
      'aws-access-key-id',
      'aws-secret-access-key',
      'aws-session-token',
      'expires-at',
      'grant-id',
      'policy',
      'token',
    ]);
  });
});

describe('readInputs', () => {
  const valid: Array<{ name: string; given: Record<string, string>; expect: Partial<Inputs> }> = [
    {
      name: 'only the required inputs: defaults apply, audience is the url',
      given: REQUIRED,
      expect: {
        url: 'https://latchkey.acme.internal',
        policy: 'webapp/deploy-prod',
        audience: 'https://latchkey.acme.internal',
        ttl: undefined,
        scope: undefined,
        exportEnv: true,
        outputCredentials: false,
        revoke: true,
        retries: 3,
        tokenEnvName: 'LATCHKEY_TOKEN',
      },
    },
    {
      name: 'a trailing slash on the url is dropped (and so from the default audience)',
      given: { ...REQUIRED, url: 'https://latchkey.acme.internal/' },
      expect: { url: 'https://latchkey.acme.internal', audience: 'https://latchkey.acme.internal' },
    },
    {
      name: 'a url with a path prefix keeps it',
      given: { ...REQUIRED, url: 'https://gw.acme.internal/latchkey/' },
      expect: { url: 'https://gw.acme.internal/latchkey' },
    },
    { name: 'http on loopback', given: { ...REQUIRED, url: 'http://127.0.0.1:8080' }, expect: { url: 'http://127.0.0.1:8080' } },
    { name: 'an explicit audience', given: { ...REQUIRED, audience: 'https://aud.example' }, expect: { audience: 'https://aud.example' } },
    { name: 'ttl in seconds', given: { ...REQUIRED, ttl: '900' }, expect: { ttl: 900 } },
    { name: 'ttl as a duration', given: { ...REQUIRED, ttl: '1h30m' }, expect: { ttl: 5400 } },
    {
      name: 'scope with commas, newlines and extra spaces',
      given: { ...REQUIRED, scope: ' artifacts:read,\n artifacts:write  ' },
      expect: { scope: 'artifacts:read artifacts:write' },
    },
    {
      name: 'booleans in the YAML core spellings',
      given: { ...REQUIRED, 'export-env': 'False', 'output-credentials': 'TRUE', revoke: 'false' },
      expect: { exportEnv: false, outputCredentials: true, revoke: false },
    },
    { name: 'retries 0', given: { ...REQUIRED, retries: '0' }, expect: { retries: 0 } },
    { name: 'values are trimmed', given: { url: ' https://l.example ', policy: ' a/b \n' }, expect: { url: 'https://l.example', policy: 'a/b' } },
    {
      name: 'an empty input counts as absent',
      given: { ...REQUIRED, ttl: '', audience: '' },
      expect: { ttl: undefined, audience: 'https://latchkey.acme.internal' },
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => {
      const inputs = readInputs(runnerEnv(c.given));
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(inputs[key as keyof Inputs], value, key);
    });
  }

  const invalid: Array<{ name: string; given: Record<string, string>; env?: Record<string, string>; messages: string[] }> = [
    { name: 'nothing given', given: {}, messages: ['url: is required', 'policy: is required'] },
    { name: 'plain http to a remote host', given: { ...REQUIRED, url: 'http://latchkey.acme.internal' }, messages: ['url: must be an https:// URL'] },
    { name: 'a url with credentials', given: { ...REQUIRED, url: 'https://user:pw@latchkey.example' }, messages: ['url: must not carry credentials'] },
    { name: 'not a url', given: { ...REQUIRED, url: 'latchkey.example' }, messages: ['url: "latchkey.example" is not a URL'] },
    { name: 'an upper-case policy name', given: { ...REQUIRED, policy: 'Webapp/Deploy' }, messages: ['policy: must be a policy name'] },
    { name: 'a policy path going up', given: { ...REQUIRED, policy: '../etc/passwd' }, messages: ['policy: must be a policy name'] },
    { name: 'a ttl without a unit it knows', given: { ...REQUIRED, ttl: '15 minutes' }, messages: ['ttl: "15 minutes" is not a duration'] },
    { name: 'a zero ttl', given: { ...REQUIRED, ttl: '0' }, messages: ['ttl: "0" is not a duration'] },
    { name: 'yes as a boolean', given: { ...REQUIRED, revoke: 'yes' }, messages: ['revoke: must be true or false'] },
    { name: 'too many retries', given: { ...REQUIRED, retries: '11' }, messages: ['retries: must be a whole number from 0 to 10'] },
    { name: 'negative retries', given: { ...REQUIRED, retries: '-1' }, messages: ['retries: must be a whole number from 0 to 10'] },
    {
      name: 'a variable name with a dash',
      given: { ...REQUIRED, 'token-env-name': 'MY-TOKEN' },
      messages: ['token-env-name: must be an environment variable name'],
    },
    {
      name: 'a justification over 1,000 characters',
      given: { ...REQUIRED, justification: 'x'.repeat(1001) },
      messages: ['justification: must be at most 1,000 characters'],
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => readInputs(runnerEnv(c.given)),
        (error: unknown) => {
          assert.ok(error instanceof InputError);
          for (const message of c.messages) assert.ok(error.message.includes(message), `${error.message}\n  lacks: ${message}`);
          return true;
        },
      );
    });
  }

  it("reads the runner's variable names: upper case, hyphens kept, spaces to _", () => {
    assert.equal(inputVariable('export-env'), 'INPUT_EXPORT-ENV');
    assert.equal(inputVariable('token env'), 'INPUT_TOKEN_ENV');
  });
});
