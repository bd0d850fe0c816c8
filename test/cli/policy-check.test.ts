/**
 * `latchkey policy check`: the service's loader run as a CLI, with exit codes
 * (0 clean, 1 errors, 2 usage) and positions in text, JSON and GitHub formats.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { BASIC_POLICY } from '../support/service.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const run = async (args: string[], cwd: string) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'exchange-service/bin/latchkey.js'), 'policy', 'check', ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return failed;
  }
};

describe('latchkey policy check', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-check-'));
    await mkdir(join(dir, 'good/webapp'), { recursive: true });
    await writeFile(join(dir, 'good/webapp/read.yaml'), BASIC_POLICY);
    await mkdir(join(dir, 'bad/webapp'), { recursive: true });
    await writeFile(join(dir, 'bad/webapp/read.yaml'), BASIC_POLICY.replace('subject:', 'subjet:'));
    await writeFile(join(dir, 'ghes-only.yaml'), 'issuers:\n  ghes: { url: "https://ghe.example.com/_services/token" }\n');
    await writeFile(join(dir, 'short-ttl.yaml'), 'limits: { max_ttl: 15m }\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('exits 0 on a clean set', async () => {
    const result = await run(['good'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 policy checked: no errors/);
  });

  it('exits 1 naming file, line and column of an unknown key', async () => {
    const result = await run(['bad'], dir);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /bad\/webapp\/read\.yaml:4:1: error: .*subjet/);
  });

  it('prints GitHub workflow commands with --format github', async () => {
    const result = await run(['bad', '--format', 'github'], dir);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^::error file=bad\/webapp\/read\.yaml,line=4,col=1,title=latchkey policy::/m);
  });

  it('prints JSON with --format json', async () => {
    const result = await run(['bad', '--format', 'json'], dir);
    const report = JSON.parse(result.stdout) as { ok: boolean; errors: Array<{ file: string; line: number }> };
    assert.equal(report.ok, false);
    assert.ok(report.errors.some((e) => e.file === 'bad/webapp/read.yaml' && e.line === 4), result.stdout);
  });

  it('checks issuer names and the TTL cap against a service config with --config', async () => {
    const issuer = await run(['good', '--config', 'ghes-only.yaml'], dir);
    assert.equal(issuer.code, 1);
    assert.match(issuer.stdout, /issuer "github" is not configured/);
    const ttl = await run(['good', '--config', 'short-ttl.yaml'], dir);
    assert.equal(ttl.code, 1);
    assert.match(ttl.stdout, /max_ttl/);
  });

  it('reports STS limits in aws grants as errors (issue 3)', async () => {
    const arns = Array.from({ length: 11 }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`).join(', ');
    const aws = BASIC_POLICY.replace('ttl: { default: 10m, max: 30m }', 'ttl: { default: 15m, max: 30m }')
      .replace(/grant:[\s\S]*$/, `grant:\n  aws:\n    role_arn: arn:aws:iam::123456789012:role/deploy\n    managed_session_policies: [${arns}]\n`);
    await mkdir(join(dir, 'aws/webapp'), { recursive: true });
    await writeFile(join(dir, 'aws/webapp/deploy.yaml'), aws);
    const result = await run(['aws'], dir);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /aws\/webapp\/deploy\.yaml:\d+:\d+: error: .*10/);
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await run(['--format', 'xml'], dir)).code, 2);
  });
});
