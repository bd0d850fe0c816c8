/**
 * Untrusted text in review Markdown: a code span nothing can break out of,
 * and prose whose Markdown, HTML, mentions and control characters are inert.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { code, prose } from '../../../exchange-service/src/policy/tools/markdown-text.ts';

describe('code', () => {
  const cases = [
    { name: 'plain text in single backticks', text: 'plain', shown: '`plain`' },
    { name: 'a fence longer than any backtick run inside', text: 'a`b', shown: '``a`b``' },
    { name: 'padded when it starts or ends with a backtick', text: '`x`', shown: '`` `x` ``' },
    { name: 'JSON-escaped inside (newlines, quotes)', text: 'a\n"b"', shown: '`a\\n\\"b\\"`' },
    { name: 'bidirectional overrides and C1 controls as \\u escapes', text: 'a\u202eb\u0085', shown: '`a\\u202eb\\u0085`' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(code(c.text), c.shown));
});

describe('prose', () => {
  const cases = [
    { name: 'Markdown punctuation backslash-escaped', text: '*a* <b> [c](d) @e _f_ `g`', shown: '\\*a\\* \\<b\\> \\[c\\]\\(d\\) \\@e \\_f\\_ \\`g\\`' },
    { name: 'C0 controls as \\u escapes', text: 'line\nbreak\u001b', shown: 'line\\u000abreak\\u001b' },
    { name: 'bidirectional marks as \\u escapes', text: 'x\u2066y\u200f', shown: 'x\\u2066y\\u200f' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(prose(c.text), c.shown));
});
