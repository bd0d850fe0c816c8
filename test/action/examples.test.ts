/**
 * The examples a workflow author copies must be right: every example
 * workflow and every Action snippet in the README's "Using the Action" asks
 * for `id-token: write`, passes only inputs action.yml declares (and the
 * required ones), names a policy in examples/policies that the service
 * loads, and that policy grants the claims GitHub would put in the job's
 * token (repository, ref, workflow_ref, environment, event, runner).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadPolicies, type PolicySet } from '../../exchange-service/src/policy/load/load.ts';
import { evaluatePolicy, describeDenial } from '../../exchange-service/src/policy/model/evaluate.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const action = parseYaml(read('action.yml')) as { inputs: Record<string, { required?: boolean }> };

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on'?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on?: unknown;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const isLatchkey = (step: Step): boolean => /(^|\/)latchkey@/.test(step.uses ?? '');

/** The problems with one workflow's latchkey steps (empty when it is right). */
function workflowProblems(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobName, job] of Object.entries(workflow.jobs)) {
    const steps = job.steps.filter(isLatchkey);
    if (steps.length === 0) continue;
    const permissions = job.permissions ?? workflow.permissions;
    if (permissions?.['id-token'] !== 'write') problems.push(`job ${jobName}: no id-token: write`);
    for (const step of steps) {
      const given = Object.keys(step.with ?? {});
      for (const name of given) if (!(name in action.inputs)) problems.push(`job ${jobName}: unknown input ${name}`);
      for (const [name, input] of Object.entries(action.inputs)) if (input.required && !given.includes(name)) problems.push(`job ${jobName}: missing ${name}`);
    }
  }
  return problems;
}

/** The README's "Using the Action" section. */
function usingTheAction(): string {
  const readme = read('README.md');
  const start = readme.indexOf('## Using the Action');
  assert.ok(start >= 0, 'README has a "Using the Action" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('examples and README snippets', () => {
  let policies: PolicySet;
  before(async () => {
    policies = await loadPolicies(new URL('examples/policies', root).pathname, { issuers: { github: { kind: 'github' } }, maxTtl: 3600 });
  });

  const files = readdirSync(new URL('examples/workflows', root)).filter((name) => name.endsWith('.yml'));
  it('has both example workflows', () => {
    assert.deepEqual(files.sort(), ['deploy-aws.yml', 'internal-token.yml', 'policy-review.yml']);
  });

  for (const file of files) {
    it(`examples/workflows/${file}: right permissions and inputs, and its policy grants the job`, () => {
      const workflow = parseYaml(read(`examples/workflows/${file}`)) as Workflow;
      assert.deepEqual(workflowProblems(workflow), []);
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps.filter(isLatchkey)) {
          const name = String(step.with?.policy);
          const policy = policies.policies.get(name);
          assert.ok(policy !== undefined, `policy ${name} is in examples/policies`);
          const claims = githubClaims(workflow, job, file);
          const evaluation = evaluatePolicy(policy, claims);
          assert.ok(evaluation.granted, `${name} denies the example job: ${describeDenial(evaluation, 'full')}`);
          assert.equal(evaluatePolicy(policy, { ...claims, ref: 'refs/heads/feature' }).granted, false, 'and not another branch');
        }
      }
    });
  }

  it('every Action snippet in the README is right', () => {
    const blocks = [...usingTheAction().matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    const workflows = blocks.filter((block) => block.includes('latchkey@'));
    assert.ok(workflows.length >= 2, 'the README shows the AWS and the token workflow');
    for (const block of workflows) {
      const snippet = parseYaml(block) as Workflow;
      assert.deepEqual(workflowProblems(snippet), [], block);
      for (const job of Object.values(snippet.jobs)) {
        for (const step of job.steps.filter(isLatchkey))
          assert.ok(policies.policies.has(String(step.with?.policy)), `README names policy ${String(step.with?.policy)}`);
      }
    }
  });

  it('the README lists every input and output of action.yml', () => {
    const section = usingTheAction();
    const manifest = parseYaml(read('action.yml')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
    for (const name of [...Object.keys(manifest.inputs), ...Object.keys(manifest.outputs)])
      assert.ok(section.includes(`\`${name}\``), `README mentions ${name}`);
  });
});

/** The claims GitHub would put in the job's OIDC token for a push to main in acme/webapp. */
function githubClaims(workflow: Workflow, job: Job, file: string): Record<string, unknown> {
  const environment = typeof job.environment === 'string' ? job.environment : job.environment?.name;
  const workflowRef = `acme/webapp/.github/workflows/${file}@refs/heads/main`;
  const events = typeof workflow.on === 'object' && workflow.on !== null ? Object.keys(workflow.on) : [String(workflow.on)];
  return {
    repository: 'acme/webapp',
    repository_id: '892341',
    repository_owner: 'acme',
    repository_owner_id: '1342004',
    ref: 'refs/heads/main',
    workflow_ref: workflowRef,
    job_workflow_ref: workflowRef,
    event_name: events.includes('push') ? 'push' : events[0],
    runner_environment: 'github-hosted',
    ...(environment !== undefined ? { environment } : {}),
  };
}
