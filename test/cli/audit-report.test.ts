/**
 * `latchkey audit report` end to end over a real SQLite store and a real
 * policies folder named by a config file: the Markdown in full, JSON, the
 * window, hostile claim text, and what happens without the policy set.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import type { AuditReport } from '../../exchange-service/src/audit/report.ts';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { NOW_MS, makeBody, makeGrantInput, makeTempDir } from '../store/fixtures.ts';
import { BASIC_POLICY } from '../support/service.ts';
import { capture } from '../support/capture.ts';

const temp = makeTempDir();
after(() => temp.remove());

const STORE = `sqlite:${join(temp.dir, 'latchkey.db')}`;
const CONFIG = join(temp.dir, 'latchkey.yaml');
const NO_POLICIES_CONFIG = join(temp.dir, 'no-policies.yaml');
const HOSTILE_STORE = `sqlite:${join(temp.dir, 'hostile.db')}`;
const UNTIL = NOW_MS + 3_600_000;
const HOSTILE_REPO = 'acme/x\n| forged | row |\u001b[2J`';
const HOSTILE_JUSTIFICATION = 'ticket `OPS-1` | <img src=x>\r\nnext line\u202e';

function grantInput(n: number, ttl: number, justification: string | null, repository = 'acme/webapp') {
  const input = makeGrantInput(n);
  const record = makeBody(n, { outcome: 'granted', reason: null, policy: 'webapp/read', justification }, { repository });
  input.record = { ...record, grant: { ...(input.record.grant as NonNullable<AuditRecordBody['grant']>), ttl } };
  return input;
}

before(async () => {
  mkdirSync(join(temp.dir, 'policies', 'webapp'), { recursive: true });
  mkdirSync(join(temp.dir, 'policies', 'infra'), { recursive: true });
  writeFileSync(join(temp.dir, 'policies', 'webapp', 'read.yaml'), BASIC_POLICY);
  writeFileSync(join(temp.dir, 'policies', 'infra', 'unused.yaml'), BASIC_POLICY);
  writeFileSync(CONFIG, `store: { url: ${JSON.stringify(STORE)} }\npolicies: { dir: ${JSON.stringify(join(temp.dir, 'policies'))} }\n`);
  writeFileSync(NO_POLICIES_CONFIG, `policies: { dir: ${JSON.stringify(join(temp.dir, 'missing'))} }\n`);

  const store = await openSqliteStore(join(temp.dir, 'latchkey.db'), { now: () => NOW_MS });
  await store.commitGrant(grantInput(1, 1800, 'deploy'));
  await store.commitGrant(grantInput(2, 600, 'deploy'));
  await store.appendAudit(makeBody(3, { policy: 'webapp/read' }, { repository: 'acme/evil' }));
  await store.close();

  const hostile = await openSqliteStore(join(temp.dir, 'hostile.db'), { now: () => NOW_MS });
  await hostile.commitGrant(grantInput(1, 600, HOSTILE_JUSTIFICATION, HOSTILE_REPO));
  await hostile.commitGrant(grantInput(2, 600, HOSTILE_JUSTIFICATION, HOSTILE_REPO));
  await hostile.close();
});

async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runAuditCommand(['report', ...args], { stdout: stdout.stream, stderr: stderr.stream, env: {}, now: () => UNTIL });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const EXPECTED_MARKDOWN = `# latchkey audit report

Window: the start of the log to 2026-11-23T11:00:00.000Z; 3 record(s), seq 1 to 3.
Policy set: VERSION (2 policies).

## Exchanges per policy and outcome

| policy | granted | denied | failed | total |
| --- | ---: | ---: | ---: | ---: |
| \`webapp/read\` | 2 | 1 | 0 | 3 |

## Denials and failures by reason

| event | outcome | reason | count |
| --- | --- | --- | ---: |
| exchange | denied | policy_denied | 1 |

## Most frequent requesters

| requester | exchanges | granted | denied |
| --- | ---: | ---: | ---: |
| \`acme/webapp\` | 2 | 2 | 0 |
| \`acme/evil\` | 1 | 0 | 1 |

## Grants never revoked or introspected (ended by the window's end)

| policy | granted | never revoked or introspected | grant ids |
| --- | ---: | ---: | --- |
| \`webapp/read\` | 2 | 2 | \`grant-1\`, \`grant-2\` |

## Grants at the policy's maximum TTL (per the policy set above)

| policy | ttl.max | granted | at ttl.max |
| --- | --- | ---: | ---: |
| \`webapp/read\` | 30m | 2 | 1 |

## Granted exchanges without a justification

None.

## Justifications repeated verbatim

| justification | times | requesters | policies |
| --- | ---: | ---: | --- |
| \`"deploy"\` | 2 | 1 | \`webapp/read\` |

## Policies never used (no granted exchange in the window)

| policy | requests |
| --- | ---: |
| \`infra/unused\` | 0 |
`;

describe('audit report', () => {
  test('Markdown: every section, sorted, with the policy set from the config file', async () => {
    const result = await report(['--config', CONFIG]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const version = /^Policy set: (\S+) \(/m.exec(result.stdout)?.[1] ?? '';
    assert.match(version, /^sha256:[0-9a-f]+$/);
    assert.equal(result.stdout.replace(version, 'VERSION'), EXPECTED_MARKDOWN);
  });

  test('JSON: the same report as data', async () => {
    const result = await report(['--store', STORE, '--config', CONFIG, '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as AuditReport;
    assert.equal(parsed.window.records, 3);
    assert.deepEqual(parsed.unused_policies, [{ policy: 'infra/unused', requests: 0 }]);
    assert.deepEqual(parsed.ttl_at_max, [{ policy: 'webapp/read', ttl_max: 1800, granted: 2, at_max: 1 }]);
    assert.deepEqual(parsed.unreleased_grants[0]?.grant_ids, ['grant-1', 'grant-2']);
  });

  const windows: Array<{ name: string; since: string; records: number; since_iso: string }> = [
    { name: 'hours and minutes', since: '59m58s', records: 2, since_iso: '2026-11-23T10:00:02.000Z' },
    { name: 'days', since: '1d', records: 3, since_iso: '2026-11-22T11:00:00.000Z' },
  ];
  for (const { name, since, records, since_iso } of windows) {
    test(`--since ${since} (${name})`, async () => {
      const result = await report(['--config', CONFIG, '--since', since, '--format', 'json']);
      assert.equal(result.code, 0, result.stderr);
      const parsed = JSON.parse(result.stdout) as AuditReport;
      assert.equal(parsed.window.since, since_iso);
      assert.equal(parsed.window.records, records);
    });
  }

  test('without a policies folder: the policy sections say they were skipped', async () => {
    const result = await report(['--store', STORE, '--config', NO_POLICIES_CONFIG]);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /no policies folder at .*missing; the sections that need the policy set are skipped/);
    assert.match(result.stdout, /^Policy set: not loaded; the sections that need it were skipped\.$/m);
    assert.match(result.stdout, /## Policies never used\n\nSkipped: the policy set was not loaded\./);
    assert.match(result.stdout, /## Grants at the policy's maximum TTL\n\nSkipped/);
  });

  test('hostile claim and justification text cannot break out of its table cell', async () => {
    const result = await report(['--store', HOSTILE_STORE, '--config', NO_POLICIES_CONFIG]);
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stdout, /[^\x20-\x7e\n]/, 'printable ASCII and line breaks only');
    const rows = result.stdout.split('\n').filter((line) => line.startsWith('|'));
    for (const row of rows) assert.match(row, /^\|( [^|]+ \|)+$/, `every cell intact: ${row}`);
    const requesterRow = rows.find((row) => row.includes('acme/x'));
    assert.equal(requesterRow, '| `"acme/x\\n\\u007c forged \\u007c row \\u007c\\u001b[2J\\u0060"` | 2 | 2 | 0 |');
    const justificationRow = rows.find((row) => row.includes('OPS-1'));
    assert.equal(justificationRow, '| `"ticket \\u0060OPS-1\\u0060 \\u007c <img src=x>\\r\\nnext line\\u202e"` | 2 | 1 | `webapp/read` |');
  });

  const bad: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: 'unknown format', args: ['--format', 'html'], message: /--format is md or json, not "html"/ },
    { name: 'not a duration', args: ['--since', 'yesterday'], message: /--since "yesterday" is not a duration/ },
    { name: 'a verify-only flag', args: ['--checkpoint', 'x'], message: /unexpected argument "--checkpoint"/ },
    { name: 'a missing store', args: ['--store', `sqlite:${join(temp.dir, 'nope.db')}`], message: /no SQLite store at/ },
  ];
  for (const { name, args, message } of bad) {
    test(`${name} → exit 2`, async () => {
      const result = await report(['--config', CONFIG, ...args]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
    });
  }
});
