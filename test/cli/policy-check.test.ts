/**
 * `latchkey policy check`: the service's loader and the lint run as a CLI,
 * with exit codes (0 clean or warnings only, 1 errors or warnings with
 * --strict, 2 usage) and positions in text, JSON and GitHub formats.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { BASIC_POLICY } from '../support/service.ts';
import { runPolicyCommand } from '../../exchange-service/src/cli/policy.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs `policy check` in this process (paths are shown relative to this process's working folder). */
async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const sink = (name: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output[name] += chunk.toString();
        done();
      },
    });
  const code = await runPolicyCommand(['check', ...args], { stdout: sink('stdout'), stderr: sink('stderr'), env: {} });
  return { code, ...output };
}
const run = async (args: string[], cwd: string) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'exchange-service/bin/latchkey.js'), 'policy', 'check', ...args], {
      cwd,
    });
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
    // Lints but loads: no runner_environment (line 4, `subject:`), ttl.max above 1h (line 8, column 27).
    await mkdir(join(dir, 'warn/webapp'), { recursive: true });
    await writeFile(join(dir, 'warn/webapp/read.yaml'), BASIC_POLICY.replace('  runner_environment: github-hosted\n', '').replace('max: 30m', 'max: 2h'));
    // Like `npm start`'s: github, and the dev issuers the shipped examples name.
    await writeFile(
      join(dir, 'dev-issuers.yaml'),
      [
        'issuers:',
        '  github: { url: https://token.actions.githubusercontent.com }',
        '  dev: { url: http://127.0.0.1:8080/dev/oidc }',
        '  ghes: { url: http://127.0.0.1:8080/dev/ghes/_services/token }',
        '',
      ].join('\n'),
    );
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
    assert.match(result.stdout, /^::error file=bad\/webapp\/read\.yaml,line=4,col=1,title=latchkey invalid-policy::/m);
  });

  it('prints JSON with --format json', async () => {
    const result = await run(['bad', '--format', 'json'], dir);
    const report = JSON.parse(result.stdout) as { ok: boolean; errors: Array<{ file: string; line: number }> };
    assert.equal(report.ok, false);
    assert.ok(
      report.errors.some((e) => e.file === 'bad/webapp/read.yaml' && e.line === 4),
      result.stdout,
    );
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
    const aws = BASIC_POLICY.replace('ttl: { default: 10m, max: 30m }', 'ttl: { default: 15m, max: 30m }').replace(
      /grant:[\s\S]*$/,
      `grant:\n  aws:\n    role_arn: arn:aws:iam::123456789012:role/deploy\n    managed_session_policies: [${arns}]\n`,
    );
    await mkdir(join(dir, 'aws/webapp'), { recursive: true });
    await writeFile(join(dir, 'aws/webapp/deploy.yaml'), aws);
    const result = await run(['aws'], dir);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /aws\/webapp\/deploy\.yaml:\d+:\d+: error: .*10/);
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await run(['--format', 'xml'], dir)).code, 2);
    assert.equal((await runInProcess(['good', 'bad'])).code, 2);
    assert.equal((await runInProcess(['good', '--strict=yes'])).code, 2);
  });

  it('exits 0 with warnings, each with file, line, column, rule and fix', async () => {
    const result = await runInProcess([join(dir, 'warn')]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    const file = relative(process.cwd(), join(dir, 'warn/webapp/read.yaml'));
    assert.equal(lines.length, 3, result.stdout);
    assert.ok(lines[0]!.startsWith(`${file}:4:1: warning [unconstrained-runner-environment]: `), lines[0]);
    assert.match(lines[0]!, / \(fix: .+\)$/);
    assert.ok(lines[1]!.startsWith(`${file}:8:27: warning [long-ttl]: ttl.max is 2h, above 1h`), lines[1]);
    assert.equal(lines[2], '1 policy checked: no errors, 2 warnings');
  });

  it('exits 1 on warnings with --strict', async () => {
    const result = await runInProcess([join(dir, 'warn'), '--strict']);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /--strict: warnings fail the check/);
    assert.equal((await runInProcess([join(dir, 'good'), '--strict'])).code, 0);
  });

  it('prints warnings in JSON with --format json', async () => {
    const result = await runInProcess([join(dir, 'warn'), '--format', 'json']);
    assert.equal(result.code, 0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(report), ['ok', 'policies', 'errors', 'warnings']);
    assert.equal(report.ok, true);
    assert.equal(report.policies, 1);
    assert.deepEqual(report.errors, []);
    const file = relative(process.cwd(), join(dir, 'warn/webapp/read.yaml'));
    const warnings = report.warnings as Array<Record<string, unknown>>;
    assert.deepEqual(
      warnings.map((w) => [w.rule, w.policy, w.file, w.line, w.column]),
      [
        ['unconstrained-runner-environment', 'webapp/read', file, 4, 1],
        ['long-ttl', 'webapp/read', file, 8, 27],
      ],
    );
    assert.ok(warnings.every((w) => typeof w.message === 'string' && typeof w.fix === 'string'));
    const strict = JSON.parse((await runInProcess([join(dir, 'warn'), '--format', 'json', '--strict'])).stdout) as { ok: boolean };
    assert.equal(strict.ok, false);
  });

  it('prints ::warning workflow commands with --format github', async () => {
    const result = await runInProcess([join(dir, 'warn'), '--format', 'github']);
    assert.equal(result.code, 0);
    const file = relative(process.cwd(), join(dir, 'warn/webapp/read.yaml')).replaceAll(':', '%3A').replaceAll(',', '%2C');
    assert.ok(result.stdout.includes(`::warning file=${file},line=8,col=27,title=latchkey long-ttl::ttl.max is 2h`), result.stdout);
  });

  it('passes the shipped examples with no warnings, against a config with every issuer they name', async () => {
    const result = await runInProcess([join(ROOT, 'policies'), '--config', join(dir, 'dev-issuers.yaml'), '--strict']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^\d+ policies checked: no errors, no warnings$/m);
  });
});
