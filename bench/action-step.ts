/**
 * Runs the committed Action bundle the way the GitHub runner does, timed:
 * a copy of `action.yml` and `action/dist/` in a folder with no
 * node_modules; each step a fresh `node <bundle>` process (this Node 24)
 * whose environment is only what a runner gives a step: `INPUT_*` (inputs
 * over action.yml's defaults), fresh `GITHUB_ENV`/`GITHUB_OUTPUT`/
 * `GITHUB_STATE`/`GITHUB_STEP_SUMMARY` files, the OIDC request pair, and
 * for the post step the main step's exports and `STATE_*`. The wall time is
 * spawn → exit of that process.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseFileCommands } from '../test/action/runner.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** One finished step. */
export interface TimedStep {
  exitCode: number | null;
  /** Spawn → exit, ms. */
  wallMs: number;
  stdout: string;
  stderr: string;
  /** `GITHUB_ENV` and `GITHUB_STATE` as parsed. */
  env: Record<string, string>;
  state: Record<string, string>;
}

/** A copied action and its steps. */
export interface ActionSteps {
  main(inputs: Record<string, string>, jobEnv: Record<string, string>): Promise<TimedStep>;
  post(main: TimedStep, inputs: Record<string, string>, jobEnv: Record<string, string>): Promise<TimedStep>;
}

interface Manifest {
  inputs?: Record<string, { default?: string | number | boolean }>;
  runs: { using: string; main: string; post: string };
}

/** Copies the action into `dir` (which must exist and be empty of it) and returns its steps. */
export async function prepareAction(dir: string): Promise<ActionSteps> {
  const actionDir = join(dir, 'action-repo');
  await mkdir(actionDir, { recursive: true });
  await cp(join(REPO_ROOT, 'action.yml'), join(actionDir, 'action.yml'));
  await cp(join(REPO_ROOT, 'action', 'dist'), join(actionDir, 'action', 'dist'), { recursive: true });
  await writeFile(join(actionDir, 'package.json'), '{ "type": "module" }\n');
  const manifest = parseYaml(await readFile(join(actionDir, 'action.yml'), 'utf8')) as Manifest;
  const defaults = Object.fromEntries(
    Object.entries(manifest.inputs ?? {}).flatMap(([name, input]) => (input.default === undefined ? [] : [[name, String(input.default)]])),
  );
  let steps = 0;
  const step = async (file: string, inputs: Record<string, string>, env: Record<string, string>): Promise<TimedStep> => {
    steps += 1;
    const stepDir = join(dir, `step-${steps}`);
    await mkdir(stepDir);
    const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state', GITHUB_STEP_SUMMARY: 'summary.md' };
    const paths = Object.fromEntries(Object.entries(files).map(([variable, name]) => [variable, join(stepDir, name)]));
    for (const path of Object.values(paths)) await writeFile(path, '');
    const stepEnv = { ...runnerEnvironment(dir), ...env, ...inputVariables({ ...defaults, ...inputs }), ...paths };
    const run = await timeNode(join(actionDir, file), stepEnv, dir);
    const read = (variable: string): Promise<string> => readFile(paths[variable] ?? '', 'utf8');
    return { ...run, env: parseFileCommands(await read('GITHUB_ENV')), state: parseFileCommands(await read('GITHUB_STATE')) };
  };
  return {
    main: (inputs, jobEnv) => step(manifest.runs.main, inputs, jobEnv),
    post: (main, inputs, jobEnv) => {
      const state = Object.fromEntries(Object.entries(main.state).map(([name, value]) => [`STATE_${name}`, value]));
      return step(manifest.runs.post, inputs, { ...jobEnv, ...main.env, ...state });
    },
  };
}

/** What every step gets from the runner itself. */
function runnerEnvironment(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
  };
}

/** `INPUT_<NAME>`: upper case, spaces to `_`, hyphens kept. */
function inputVariables(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]));
}

/** Runs `node file`, timing spawn → exit; kills it after 30 s. */
function timeNode(
  file: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ exitCode: number | null; wallMs: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [file], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let wallMs = Number.NaN;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => (wallMs = performance.now() - started));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, wallMs, stdout, stderr });
    });
  });
}
