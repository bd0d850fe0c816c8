/**
 * `policy check`'s output formats: text lines and summary, the JSON shape,
 * GitHub workflow commands escaped per GitHub's rules, and exit codes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkExitCode, escapeData, escapeProperty, formatCheckReport, type CheckReport } from '../../../exchange-service/src/policy/tools/lint-report.ts';
import type { LintWarning } from '../../../exchange-service/src/policy/tools/lint.ts';

const CWD = '/repo';
const WARNING: LintWarning = {
  rule: 'long-ttl',
  policy: 'webapp/deploy',
  file: '/repo/policies/webapp/deploy.yaml',
  line: 9,
  column: 20,
  message: 'ttl.max is 2h, above 1h',
  fix: 'lower ttl.max to 1h or less',
};
const ERROR = { file: '/repo/policies/webapp/read.yaml', line: 4, column: 1, message: 'unknown key "subjet"' };

const report = (overrides: Partial<CheckReport>): CheckReport => ({ policies: 3, errors: [], warnings: [], strict: false, ...overrides });

describe('checkExitCode', () => {
  const CASES: Array<{ name: string; report: CheckReport; code: 0 | 1 }> = [
    { name: 'clean', report: report({}), code: 0 },
    { name: 'warnings only', report: report({ warnings: [WARNING] }), code: 0 },
    { name: 'warnings with --strict', report: report({ warnings: [WARNING], strict: true }), code: 1 },
    { name: 'clean with --strict', report: report({ strict: true }), code: 0 },
    { name: 'errors', report: report({ policies: 0, errors: [ERROR] }), code: 1 },
  ];
  for (const { name, report: given, code } of CASES) it(name, () => assert.equal(checkExitCode(given), code));
});

describe('text format', () => {
  it('one line per warning with its rule and fix, paths relative to the working folder, and a summary', () => {
    assert.equal(
      formatCheckReport(report({ warnings: [WARNING] }), 'text', CWD),
      'policies/webapp/deploy.yaml:9:20: warning [long-ttl]: ttl.max is 2h, above 1h (fix: lower ttl.max to 1h or less)\n3 policies checked: no errors, 1 warning\n',
    );
  });

  it('errors, and a summary saying the service would refuse the set', () => {
    const text = formatCheckReport(
      report({ policies: 0, errors: [ERROR, { file: '/elsewhere/x.yaml', message: 'cannot read the file: EACCES' }] }),
      'text',
      CWD,
    );
    assert.equal(
      text,
      'policies/webapp/read.yaml:4:1: error: unknown key "subjet"\n../elsewhere/x.yaml: error: cannot read the file: EACCES\n2 errors; the service would refuse this set (lint runs once it loads)\n',
    );
  });

  it('says when --strict makes warnings fail', () => {
    assert.match(
      formatCheckReport(report({ policies: 1, warnings: [WARNING, WARNING], strict: true }), 'text', CWD),
      /^1 policy checked: no errors, 2 warnings \(--strict: warnings fail the check\)$/m,
    );
  });
});

describe('json format', () => {
  it('{ ok, policies, errors, warnings } with relative paths', () => {
    const parsed = JSON.parse(formatCheckReport(report({ warnings: [WARNING] }), 'json', CWD)) as unknown;
    assert.deepEqual(parsed, { ok: true, policies: 3, errors: [], warnings: [{ ...WARNING, file: 'policies/webapp/deploy.yaml' }] });
  });

  it('ok is false with errors, and with warnings under --strict', () => {
    const errors = JSON.parse(formatCheckReport(report({ policies: 0, errors: [ERROR] }), 'json', CWD)) as { ok: boolean; errors: unknown[] };
    assert.equal(errors.ok, false);
    assert.deepEqual(errors.errors, [{ ...ERROR, file: 'policies/webapp/read.yaml' }]);
    assert.equal((JSON.parse(formatCheckReport(report({ warnings: [WARNING], strict: true }), 'json', CWD)) as { ok: boolean }).ok, false);
  });
});

describe('github format', () => {
  it('a warning command per warning and an error command per error', () => {
    assert.equal(
      formatCheckReport(report({ warnings: [WARNING] }), 'github', CWD),
      '::warning file=policies/webapp/deploy.yaml,line=9,col=20,title=latchkey long-ttl::ttl.max is 2h, above 1h (fix: lower ttl.max to 1h or less)\n3 policies checked: no errors, 1 warning\n',
    );
    assert.match(
      formatCheckReport(report({ policies: 0, errors: [ERROR] }), 'github', CWD),
      /^::error file=policies\/webapp\/read\.yaml,line=4,col=1,title=latchkey invalid-policy::unknown key "subjet"$/m,
    );
  });

  it('an error without a position has no line or col', () => {
    assert.match(
      formatCheckReport(report({ policies: 0, errors: [{ file: '/repo/policies', message: 'cannot read the folder: ENOENT' }] }), 'github', CWD),
      /^::error file=policies,title=latchkey invalid-policy::cannot read the folder: ENOENT$/m,
    );
  });

  const ESCAPES: Array<{ name: string; data: string; escaped: string; property: string }> = [
    { name: 'percent first, so escapes are not escaped twice', data: '100%0A', escaped: '100%250A', property: '100%250A' },
    { name: 'newline and carriage return', data: 'a\r\nb', escaped: 'a%0D%0Ab', property: 'a%0D%0Ab' },
    { name: 'colon and comma only in properties', data: 'a:b,c', escaped: 'a:b,c', property: 'a%3Ab%2Cc' },
    { name: 'a workflow command smuggled in a message', data: 'x\n::error::forged', escaped: 'x%0A::error::forged', property: 'x%0A%3A%3Aerror%3A%3Aforged' },
  ];
  for (const { name, data, escaped, property } of ESCAPES) {
    it(`escapes ${name}`, () => {
      assert.equal(escapeData(data), escaped);
      assert.equal(escapeProperty(data), property);
    });
  }

  it('escapes the file property and the message of a real command', () => {
    const odd: LintWarning = { ...WARNING, file: '/repo/policies/a,b:c.yaml', message: 'line one\nline two 50%' };
    const [line] = formatCheckReport(report({ warnings: [odd] }), 'github', CWD).split('\n');
    assert.equal(
      line,
      '::warning file=policies/a%2Cb%3Ac.yaml,line=9,col=20,title=latchkey long-ttl::line one%0Aline two 50%25 (fix: lower ttl.max to 1h or less)',
    );
  });
});
