/**
 * The schema walk behind "unknown key" messages: which keys a schema allows
 * at a path, and the hint for a key that is not one of them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as z from 'zod';
import { editDistance, schemaKeysAt, unknownKeyMessage } from '../../../exchange-service/src/policy/model/did-you-mean.ts';
import { PolicyFile } from '../../../exchange-service/src/policy/model/schema.ts';

const Example = z.strictObject({
  store: z.strictObject({ url: z.string(), pool: z.number().optional() }).default({ url: 'x' }),
  issuers: z.record(z.string(), z.strictObject({ url: z.string(), kind: z.string() })),
  introspection: z.strictObject({ bearer: z.string() }).nullable(),
  name: z.string(),
});

describe('schemaKeysAt', () => {
  const cases: Array<{ name: string; path: PropertyKey[]; keys: string[] }> = [
    { name: 'the root object', path: [], keys: ['store', 'issuers', 'introspection', 'name'] },
    { name: 'through a default', path: ['store'], keys: ['url', 'pool'] },
    { name: 'a record member has the value schema', path: ['issuers', 'github'], keys: ['url', 'kind'] },
    { name: 'through a nullable', path: ['introspection'], keys: ['bearer'] },
    { name: 'a record itself has no fixed keys', path: ['issuers'], keys: [] },
    { name: 'a scalar has no keys', path: ['name'], keys: [] },
    { name: 'a key the schema lacks', path: ['nope', 'deeper'], keys: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(schemaKeysAt(Example, c.path), c.keys));

  it('walks the policy schema', () => {
    assert.ok(schemaKeysAt(PolicyFile, []).includes('subject'));
    assert.ok(schemaKeysAt(PolicyFile, ['grant', 'token']).includes('audience'));
  });
});

describe('unknownKeyMessage', () => {
  const cases = [
    { name: 'a near key is suggested', key: 'subjet', known: ['version', 'subject'], says: 'unknown key "subjet" (did you mean "subject"?)' },
    { name: 'otherwise the keys expected', key: 'zzzzzz', known: ['a', 'b'], says: 'unknown key "zzzzzz" (expected one of a, b)' },
    { name: 'no hint without known keys', key: 'x', known: [], says: 'unknown key "x"' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(unknownKeyMessage(c.key, c.known), c.says));
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('audiance', 'audience'), 1);
    assert.equal(editDistance('subjet', 'subject'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
});
