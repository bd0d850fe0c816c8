/**
 * The fast YAML subset reader must never disagree with the `yaml` package:
 * whatever it accepts parses to exactly what `yaml` gives, and whatever
 * `yaml` refuses it leaves to `yaml`. Named cases, then random mutations of
 * a realistic policy file.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument } from 'yaml';
import { OUTSIDE_SUBSET, parseYamlSubset } from '../../../exchange-service/src/policy/model/yaml-subset.ts';

const POLICY = `# yaml-language-server: $schema=../policy.schema.json
version: 1
description: Deploy acme/webapp to production from main.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: 'refs/heads/main'   # a comment
  workflow_ref: acme/webapp/.github/workflows/deploy.yml@refs/heads/main
  event_name: [push, workflow_dispatch]
  runner_environment:
    - github-hosted
ttl: { default: 15m, max: 30m }
justification: required
grant:
  aws:
    role_arn: arn:aws:iam::123456789012:role/webapp-deploy
    session_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["s3:PutObject"]
          Resource: arn:aws:s3:::acme-web/*
      Other: [{ Effect: Deny, Action: [s3:*] }]
    tags: {}
    managed_session_policies: []
`;

interface Case {
  name: string;
  text: string;
  /** true: the subset takes it (and must equal yaml); false: it must defer to yaml. */
  inSubset: boolean;
}

const CASES: Case[] = [
  { name: 'a realistic policy', text: POLICY, inSubset: true },
  { name: 'plain scalars: core schema types', text: 'a: 1\nb: true\nc: False\nd: null\ne: ~\nf: +7\ng: 007\nh: 15m\ni: 1h30m\n', inSubset: true },
  { name: 'URLs and colons inside plain scalars', text: 'a: https://x.example/p?q=1\nb: [s3:Get, "x:y"]\nc: arn:aws:iam::1:role/r\n', inSubset: true },
  { name: 'hash without a space is not a comment', text: 'a: b#c\nb: [x#y]\n', inSubset: true },
  { name: 'single quotes with an escaped quote', text: "a: 'it''s'\nb: ''\n", inSubset: true },
  { name: 'sequence at the same indent as its key', text: 'a:\n- x\n- y\nb: z\n', inSubset: true },
  { name: 'empty value is null', text: 'a:\nb: # only a comment\nc: 1\n', inSubset: true },
  { name: 'nested compact mappings in a sequence', text: 'a:\n  - b: 1\n    c:\n      - d: [x]\n  - e\n', inSubset: true },
  { name: 'comments at odd indents', text: 'a:\n# top\n      # deep\n  b: 1\n', inSubset: true },
  { name: 'floats are left to yaml', text: 'a: 1.5\n', inSubset: false },
  { name: 'hex is left to yaml', text: 'a: 0x1F\n', inSubset: false },
  { name: 'tabs', text: 'a:\n\tb: 1\n', inSubset: false },
  { name: 'CRLF line ends', text: 'a: 1\r\nb: 2\r\n', inSubset: false },
  { name: 'non-ASCII text', text: 'description: déployer\n', inSubset: false },
  { name: 'anchors and aliases', text: 'a: &x 1\nb: *x\n', inSubset: false },
  { name: 'tags', text: 'a: !!str 1\n', inSubset: false },
  { name: 'block scalars', text: 'a: |\n  text\n', inSubset: false },
  { name: 'multi-line plain scalar', text: 'a: one\n  two\n', inSubset: false },
  { name: 'escapes in double quotes', text: 'a: "x\\ny"\n', inSubset: false },
  { name: 'multi-line flow', text: 'a: [x,\n  y]\n', inSubset: false },
  { name: 'duplicate keys', text: 'a: 1\na: 2\n', inSubset: false },
  { name: 'duplicate flow keys', text: 'a: {x: 1, x: 2}\n', inSubset: false },
  { name: 'document markers', text: '---\na: 1\n', inSubset: false },
  { name: 'two documents', text: 'a: 1\n---\nb: 2\n', inSubset: false },
  { name: 'quoted keys', text: '"a": 1\n', inSubset: false },
  { name: '__proto__ key', text: '__proto__: {a: 1}\n', inSubset: false },
  { name: 'merge key', text: 'b: {x: 1}\n<<: {y: 2}\n', inSubset: false },
  { name: 'top-level sequence', text: '- a\n', inSubset: false },
  { name: 'empty file', text: '', inSubset: false },
  { name: 'only comments', text: '# nothing\n', inSubset: false },
  { name: 'colon-space inside a plain value', text: 'a: b: c\n', inSubset: false },
  { name: 'trailing comma in flow', text: 'a: [x, y,]\n', inSubset: false },
  { name: 'bad indentation', text: 'a:\n    b: 1\n  c: 2\n', inSubset: false },
  { name: 'alias-looking glob', text: 'repository: */webapp\n', inSubset: false },
  { name: 'text after a quoted scalar', text: 'a: "x" y\n', inSubset: false },
  { name: 'deep flow nesting', text: `a: ${'['.repeat(200)}${']'.repeat(200)}\n`, inSubset: false },
];

/** What the full parser gives, or undefined when it reports an error. */
function fullParse(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  return doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 });
}

describe('parseYamlSubset', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const fast = parseYamlSubset(c.text);
      if (!c.inSubset) {
        assert.equal(fast, OUTSIDE_SUBSET);
        return;
      }
      assert.notEqual(fast, OUTSIDE_SUBSET, 'the subset takes it');
      assert.deepStrictEqual(fast, fullParse(c.text));
    });
  }

  it('agrees with yaml on random mutations of a policy file', () => {
    const pieces = [
      ' ',
      '  ',
      '\n',
      ':',
      ': ',
      '- ',
      '#',
      ' #',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ',',
      '*',
      '&',
      '!',
      '|',
      '>',
      '?',
      '%',
      '@',
      'a',
      '1',
      '.',
      '~',
      'null',
      'true',
      '0x1',
      '1e3',
      '\t',
      'é',
      '__proto__',
    ];
    const random = seededRandom(7);
    let accepted = 0;
    for (let n = 0; n < 3000; n += 1) {
      let text = POLICY;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits -= 1) {
        const at = Math.floor(random() * text.length);
        const roll = random();
        if (roll < 0.45) text = text.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + text.slice(at);
        else if (roll < 0.75) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3));
        else {
          const from = Math.floor(random() * text.length);
          text = text.slice(0, at) + text.slice(from, from + 6) + text.slice(at);
        }
      }
      const fast = parseYamlSubset(text);
      if (fast === OUTSIDE_SUBSET) continue;
      accepted += 1;
      const full = fullParse(text);
      assert.notEqual(full, undefined, `the subset accepted text yaml refuses: ${JSON.stringify(text)}`);
      assert.deepStrictEqual(fast, full, `differs from yaml on ${JSON.stringify(text)}`);
    }
    assert.ok(accepted > 500, `enough mutations stay in the subset to mean something (${accepted})`);
  });
});

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
