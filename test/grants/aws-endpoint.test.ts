/**
 * Endpoint and identity resolution as server.ts builds the minter (no
 * injected client): the SDK's default credential chain reads the
 * environment, `AWS_ENDPOINT_URL_STS` is honoured, and a configured
 * `aws.endpoint` wins over it. Each case runs in a child process with its
 * own environment, so this process's environment is never touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { SERVICE_CREDENTIALS } from './aws-fixtures.ts';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'mint-with-default-chain.ts');

interface ChildOutcome {
  ok: boolean;
  accessKeyId?: string;
  reason?: string;
  detail?: string;
}

function mintInChild(env: Record<string, string>, options: { region: string; endpoint: string | null }): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, JSON.stringify(options)], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`child failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildOutcome);
    });
  });
}

describe('aws minter: endpoint and credentials from the environment', () => {
  let configured: LoopbackSts;
  let fromEnv: LoopbackSts;
  let home: string;
  before(async () => {
    configured = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
    fromEnv = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
    home = await mkdtemp(join(tmpdir(), 'latchkey-aws-env-'));
  });
  after(async () => {
    await configured.close();
    await fromEnv.close();
    await rm(home, { recursive: true, force: true });
  });

  /** A clean environment: the test identity, no shared config files, no instance metadata. */
  const environment = (extra: Record<string, string>): Record<string, string> => ({
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_ACCESS_KEY_ID: SERVICE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SERVICE_CREDENTIALS.secretAccessKey,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });

  const cases = [
    {
      name: 'AWS_ENDPOINT_URL_STS is used when no endpoint is configured',
      env: () => ({ AWS_ENDPOINT_URL_STS: fromEnv.url }),
      endpoint: () => null,
      served: () => fromEnv,
      idle: () => configured,
    },
    {
      name: 'a configured aws.endpoint wins over AWS_ENDPOINT_URL_STS',
      env: () => ({ AWS_ENDPOINT_URL_STS: fromEnv.url }),
      endpoint: () => configured.url,
      served: () => configured,
      idle: () => fromEnv,
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const served = testCase.served();
      const idle = testCase.idle();
      const [servedBefore, idleBefore] = [served.requests.length, idle.requests.length];
      const outcome = await mintInChild(environment(testCase.env()), { region: 'eu-central-1', endpoint: testCase.endpoint() });
      assert.deepEqual(outcome, { ok: true, accessKeyId: served.issued.at(-1)?.accessKeyId });
      assert.equal(served.requests.length, servedBefore + 1);
      assert.equal(idle.requests.length, idleBefore);
      const auth = served.requests.at(-1)?.authorization;
      assert.equal(auth?.accessKeyId, SERVICE_CREDENTIALS.accessKeyId, 'signed with the identity from the environment');
      assert.equal(auth?.region, 'eu-central-1');
      assert.equal(auth?.service, 'sts');
    });
  }
});
