/**
 * `latchkey policy schema` prints the schema generated from the zod schema,
 * and the committed policies/policy.schema.json is that output (not stale).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');

describe('latchkey policy schema', () => {
  it('prints the JSON Schema, identical to the committed policies/policy.schema.json', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'exchange-service/bin/latchkey.js'), 'policy', 'schema']);
    const schema = JSON.parse(stdout) as { properties?: Record<string, unknown> };
    assert.ok(schema.properties?.subject && schema.properties.grant, 'describes subject and grant');
    const committed = await readFile(join(ROOT, 'policies/policy.schema.json'), 'utf8');
    assert.equal(committed, stdout, 'policies/policy.schema.json is stale: run `npx latchkey policy schema > policies/policy.schema.json`');
  });
});
