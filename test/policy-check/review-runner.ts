/**
 * Runs the committed review bundle the way the GitHub runner does: a copy of
 * `policy-check/action.yml` and `policy-check/dist/` in a folder with no
 * node_modules (and the repository's `"type": "module"`), one fresh `node`
 * process (this process's Node 24) per step, started in the workspace (the
 * fixture repository), whose only environment is what the runner gives a
 * step: `INPUT_*` for every input (the `with:` values over action.yml's
 * defaults, `${{ github.token }}` evaluated), the `GITHUB_*` variables of the
 * event and fresh `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files.
 */
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseFileCommands, runNode } from '../action/runner.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A step's run: its streams, exit code, outputs and job summary. */
export interface ReviewResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface ReviewStep {
  /** The workspace: the checked-out repository. */
  workspace: string;
  with?: Record<string, string>;
  /** The event: its name and payload (written to `GITHUB_EVENT_PATH`). */
  event: { name: string; payload: unknown };
  repository: string;
  apiUrl: string;
  /** `${{ github.token }}`. */
  token: string;
}

export interface ReviewRunner {
  run(step: ReviewStep): Promise<ReviewResult>;
  close(): Promise<void>;
}

interface Manifest {
  inputs?: Record<string, { default?: string | number | boolean }>;
  runs: { using: string; main: string };
}

/** Copies the committed review action into a temporary folder and returns a runner for it. */
export async function createReviewRunner(): Promise<ReviewRunner> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-review-runner-'));
  const actionDir = join(dir, 'action-repo', 'policy-check');
  await mkdir(actionDir, { recursive: true });
  await cp(join(REPO, 'policy-check', 'action.yml'), join(actionDir, 'action.yml'));
  await cp(join(REPO, 'policy-check', 'dist'), join(actionDir, 'dist'), { recursive: true });
  await writeFile(join(dir, 'action-repo', 'package.json'), '{ "type": "module" }\n');
  const manifest = parseYaml(await readFile(join(actionDir, 'action.yml'), 'utf8')) as Manifest;
  if (manifest.runs.using !== 'node24') throw new Error(`policy-check/action.yml runs.using is ${manifest.runs.using}`);
  let steps = 0;
  return {
    run: async (step) => {
      steps += 1;
      const stepDir = join(dir, `step-${steps}`);
      await mkdir(stepDir);
      const paths = { event: join(stepDir, 'event.json'), outputs: join(stepDir, 'output'), summary: join(stepDir, 'summary.md') };
      await writeFile(paths.event, JSON.stringify(step.event.payload));
      await writeFile(paths.outputs, '');
      await writeFile(paths.summary, '');
      const inputs = { ...defaults(manifest, step.token), ...step.with };
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: stepDir,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: step.workspace,
        RUNNER_TEMP: stepDir,
        RUNNER_OS: 'Linux',
        GITHUB_EVENT_NAME: step.event.name,
        GITHUB_EVENT_PATH: paths.event,
        GITHUB_REPOSITORY: step.repository,
        GITHUB_API_URL: step.apiUrl,
        GITHUB_OUTPUT: paths.outputs,
        GITHUB_STEP_SUMMARY: paths.summary,
        ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value])),
      };
      const result = await runNode(join(actionDir, manifest.runs.main), env, step.workspace);
      return { ...result, outputs: parseFileCommands(await readFile(paths.outputs, 'utf8')), summary: await readFile(paths.summary, 'utf8') };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** action.yml's defaults, with the one expression the review action uses evaluated. */
function defaults(manifest: Manifest, token: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, input] of Object.entries(manifest.inputs ?? {})) {
    if (input.default === undefined) continue;
    const value = String(input.default);
    if (value.includes('${{') && value !== '${{ github.token }}') throw new Error(`the runner here cannot evaluate ${value}`);
    values[name] = value === '${{ github.token }}' ? token : value;
  }
  return values;
}
