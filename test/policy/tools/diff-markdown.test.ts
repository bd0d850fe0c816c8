/**
 * `policy diff`'s Markdown: the marker and summary lines a bot relies on,
 * the order a reviewer reads (widened first), determinism, and escaping:
 * policy text in a pull request is its author's, so nothing in it may turn
 * into Markdown, HTML, a mention or a terminal escape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffPolicySets, type DiffSide } from '../../../exchange-service/src/policy/tools/diff.ts';
import { DIFF_MARKER, renderDiffMarkdown } from '../../../exchange-service/src/policy/tools/diff-markdown.ts';
import type { CompiledPolicy } from '../../../exchange-service/src/policy/model/compile.ts';
import { compileText, policyWithSubject } from '../fixtures.ts';

const LABELS = { dir: 'policies', base: { revision: 'main', commit: 'a'.repeat(40) }, head: { revision: 'HEAD', commit: 'b'.repeat(40) } };

const policy = (name: string, subject: string, digest = name): CompiledPolicy => {
  const compiled = compileText(policyWithSubject(subject), 'github', name);
  return new Proxy(compiled, { get: (target, key) => (key === 'digest' ? digest : Reflect.get(target, key, target)) });
};
const side = (policies: CompiledPolicy[], extra: Partial<DiffSide> = {}): DiffSide => ({
  policies: new Map(policies.map((p) => [p.name, p])),
  problems: [],
  ...extra,
});

/** The Markdown with every code span removed: what is left is what renders as Markdown. */
const outsideCode = (markdown: string): string => markdown.replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');

describe('policy diff Markdown', () => {
  const base = side([
    policy('webapp/deploy', '  repository_id: "1"\n  ref: refs/heads/main', 'd1'),
    policy('webapp/read', '  repository_id: "1"\n  ref: [refs/heads/main, refs/heads/dev]', 'r1'),
    policy('old', '  repository_id: "1"'),
    policy('same', '  repository_id: "1"'),
  ]);
  const head = side(
    [
      policy('webapp/deploy', '  repository_id: "1"\n  ref: refs/heads/*\n  environment: prod', 'd2'),
      policy('webapp/read', '  repository_id: "1"\n  ref: refs/heads/main', 'r2'),
      policy('new', '  repository_id: "1"'),
      policy('same', '  repository_id: "1"'),
    ],
    { warnings: [{ rule: 'no-runner', policy: 'new', file: 'policies/new.yaml', line: 3, message: 'runner_environment is unconstrained' }] },
  );
  const markdown = renderDiffMarkdown(diffPolicySets(base, head), LABELS);
  const lines = markdown.split('\n');

  it('starts with the marker, then the one-line summary', () => {
    assert.equal(lines[0], DIFF_MARKER);
    assert.equal(lines[1], '**latchkey policy diff:** 1 widened, 1 added, 1 narrowed, 1 removed, 1 unchanged, 1 new lint warning');
  });

  it('lists widened before added, narrowed and removed, and shows both parts of a mixed change', () => {
    const at = (heading: string): number => lines.findIndex((line) => line.startsWith(`### ${heading}`));
    assert.ok(at('⚠️ Widened') < at('➕ Added') && at('➕ Added') < at('✅ Narrowed') && at('✅ Narrowed') < at('➖ Removed'), markdown);
    const widened = markdown.slice(markdown.indexOf('### ⚠️ Widened'), markdown.indexOf('### ➕ Added'));
    assert.match(widened, /\*\*wider\*\* `subject\.ref`: `refs\/heads\/main` → `refs\/heads\/\*`/);
    assert.match(widened, /narrower `subject\.environment`: `prod` \(condition added\)/);
    assert.match(markdown, /narrower `subject\.ref`: drops `refs\/heads\/dev`/);
    assert.match(markdown, /### ⚠️ New lint warnings \(1\)\n\n- \*\*`new`\*\* `policies\/new\.yaml:3` `no-runner`: runner\\_environment is unconstrained/);
  });

  it('is the same every time and carries no dates', () => {
    assert.equal(renderDiffMarkdown(diffPolicySets(base, head), LABELS), markdown);
    assert.doesNotMatch(markdown, /\d{4}-\d{2}-\d{2}/);
  });

  it('says when lint did not run', () => {
    const unlinted = renderDiffMarkdown(diffPolicySets(base, side([...head.policies!.values()])), LABELS);
    assert.match(unlinted, /Lint was not run/);
    assert.doesNotMatch(unlinted, /1 new lint warning/);
  });

  it('reports a head that does not load instead of a diff', () => {
    const broken = renderDiffMarkdown(
      diffPolicySets(base, { policies: undefined, problems: [{ file: 'policies/x.yaml', line: 4, column: 1, message: 'unknown key "subjet"' }] }),
      LABELS,
    );
    assert.equal(broken.split('\n')[1], '**latchkey policy diff:** the head policy set does not load (1 error): nothing compared');
    assert.match(broken, /- `policies\/x\.yaml:4:1`: unknown key "subjet"/);
    assert.doesNotMatch(broken, /### ➖ Removed/);
  });

  it('caps a long section and counts the rest', () => {
    const many = Array.from({ length: 130 }, (_, i) => policy(`p${String(i).padStart(3, '0')}`, '  repository_id: "1"'));
    const long = renderDiffMarkdown(diffPolicySets(side([]), side(many)), LABELS);
    assert.match(long, /### ➕ Added \(130\)/);
    assert.match(long, /… and 30 more/);
    assert.ok(long.includes('`p099`') && !long.includes('`p100`'));
  });
});

describe('escaping policy text', () => {
  const hostile = 'refs/heads/`x` <img src=x onerror=alert(1)> @octocat [link](https://evil.example) *bold*\n## heading\u001b[31m\u202e';
  const yaml = `  repository_id: "1"\n  ref: ${JSON.stringify(hostile)}`;
  const markdown = renderDiffMarkdown(diffPolicySets(side([]), side([policy('evil', yaml)])), LABELS);

  it('keeps every value inside a code span', () => {
    const rest = outsideCode(markdown);
    for (const needle of ['<img', '@octocat', '[link]', '*bold*', 'onerror']) assert.ok(!rest.includes(needle), `${needle} outside a code span:\n${rest}`);
    assert.ok(markdown.includes('<img src=x'), 'the value is still shown');
  });

  it('escapes newlines, terminal escapes and bidirectional overrides', () => {
    assert.ok(!markdown.includes('\u001b') && !markdown.includes('\u202e'));
    assert.ok(markdown.includes('\\n## heading\\u001b[31m\\u202e'));
    assert.ok(!markdown.split('\n').some((line) => line.startsWith('## heading')));
  });

  it('never cuts a value short (a difference at the end of a long pattern must show)', () => {
    const long = `refs/heads/${'a'.repeat(300)}-end`;
    const shown = renderDiffMarkdown(diffPolicySets(side([]), side([policy('long', `  repository_id: "1"\n  ref: ${long}`)])), LABELS);
    assert.ok(shown.includes(`ref: ${long}`));
  });
});
