/**
 * The example review workflow a policy repository copies must be right: it
 * runs on pull requests, may write pull-request comments, checks out the
 * whole history (the diff needs the base commit), and passes only inputs
 * policy-check/action.yml declares.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>;
}

describe('examples/workflows/policy-review.yml', () => {
  const workflow = parseYaml(read('examples/workflows/policy-review.yml')) as Workflow;
  const action = parseYaml(read('policy-check/action.yml')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  const jobs = Object.values(workflow.jobs);
  const steps = jobs.flatMap((job) => job.steps);
  const review = steps.filter((step) => /\/policy-check@/.test(step.uses ?? ''));

  it('runs on pull requests with the permissions the comment needs', () => {
    assert.ok('pull_request' in workflow.on);
    for (const job of jobs) {
      const permissions = job.permissions ?? workflow.permissions;
      assert.equal(permissions?.['pull-requests'], 'write');
      assert.equal(permissions?.contents, 'read');
    }
  });

  it('checks out the whole history before the review', () => {
    const checkout = steps.findIndex((step) => /^actions\/checkout@/.test(step.uses ?? ''));
    assert.ok(checkout >= 0 && checkout < steps.indexOf(review[0]!), 'actions/checkout comes first');
    assert.equal(steps[checkout]?.with?.['fetch-depth'], 0);
  });

  it('uses the review action with declared inputs and outputs only', () => {
    assert.equal(review.length, 1);
    for (const name of Object.keys(review[0]!.with ?? {})) assert.ok(name in action.inputs, `unknown input ${name}`);
    const text = read('examples/workflows/policy-review.yml');
    for (const [, name] of text.matchAll(/steps\.review\.outputs\.([a-z-]+)/g)) assert.ok(name! in action.outputs, `unknown output ${name}`);
  });
});
