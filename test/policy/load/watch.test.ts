/**
 * watchPolicies: a change to the folder (also in a subfolder) reloads it and
 * reports the new set, or the error that keeps the old one in force; close()
 * stops it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyLoadError, watchPolicies, type PolicySet } from '../../../exchange-service/src/policy/load/load.ts';
import { policyWithSubject, writeFiles, writePolicyDir } from '../fixtures.ts';

const GOOD = policyWithSubject('  repository_id: "892341"\n  ref: refs/heads/main');

/** Collects results and lets a test wait for the next one (failing, not hanging, if none comes). */
function collector() {
  const results: Array<PolicySet | PolicyLoadError> = [];
  let wake: (() => void) | undefined;
  return {
    results,
    onResult: (result: PolicySet | PolicyLoadError) => {
      results.push(result);
      wake?.();
    },
    async next(seen: number): Promise<PolicySet | PolicyLoadError> {
      const deadline = setTimeout(() => wake?.(), 10_000);
      while (results.length <= seen) {
        const before = results.length;
        await new Promise<void>((resolve) => (wake = resolve));
        if (results.length === before) break;
      }
      clearTimeout(deadline);
      const result = results[seen];
      assert.ok(result !== undefined, 'no reload was reported');
      return result;
    },
  };
}

describe('watchPolicies', () => {
  it('reloads on changes and reports the new set or the error', async (t) => {
    const { dir, remove } = await writePolicyDir({ 'webapp/read.yaml': GOOD });
    t.after(remove);
    const results = collector();
    const watcher = watchPolicies(dir, { issuers: { github: { kind: 'github' } } }, results.onResult, 50);
    t.after(() => watcher.close());

    await writeFiles(dir, { 'webapp/deploy.yaml': GOOD.replace('refs/heads/main', 'refs/heads/release') });
    const added = await results.next(0);
    assert.ok(!(added instanceof PolicyLoadError), String(added));
    assert.deepEqual([...added.policies.keys()], ['webapp/deploy', 'webapp/read']);

    await writeFile(join(dir, 'webapp/deploy.yaml'), GOOD.replace('subject:', 'subjet:'));
    const broken = await results.next(1);
    assert.ok(broken instanceof PolicyLoadError);
    assert.ok(broken.problems.some((p) => p.file.endsWith('webapp/deploy.yaml') && p.line === 3 && /unknown key "subjet"/.test(p.message)));

    await rm(join(dir, 'webapp/deploy.yaml'));
    const fixed = await results.next(2);
    assert.ok(!(fixed instanceof PolicyLoadError), String(fixed));
    assert.deepEqual([...fixed.policies.keys()], ['webapp/read']);
  });

  it('reports nothing after close()', async (t) => {
    const { dir, remove } = await writePolicyDir({ 'a.yaml': GOOD });
    t.after(remove);
    const results = collector();
    const watcher = watchPolicies(dir, {}, results.onResult, 20);
    watcher.close();
    await writeFiles(dir, { 'b.yaml': GOOD });
    // A second, open watcher on the same folder proves the change was observable.
    const control = collector();
    const open = watchPolicies(dir, {}, control.onResult, 20);
    t.after(() => open.close());
    await writeFiles(dir, { 'c.yaml': GOOD });
    await control.next(0);
    assert.equal(results.results.length, 0);
  });

  it('reports a folder it cannot watch as an error', async () => {
    const results = collector();
    const watcher = watchPolicies('/nonexistent/latchkey-policies', {}, results.onResult, 20);
    const result = await results.next(0);
    watcher.close();
    assert.ok(result instanceof PolicyLoadError);
    assert.match(result.problems[0]!.message, /cannot watch the folder/);
  });
});
