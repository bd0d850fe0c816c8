/**
 * Runs the committed Action bundles the way the GitHub runner does: a copy of
 * `action.yml` and `action/dist/` in a folder with no node_modules, each step
 * a fresh `node <file>` process (this process's Node 24 binary) whose only
 * environment is what the runner gives a step: `INPUT_*` for every input (the
 * `with:` values over the defaults of action.yml), fresh `GITHUB_ENV`,
 * `GITHUB_OUTPUT`, `GITHUB_STATE` and `GITHUB_STEP_SUMMARY` files, the
 * variables earlier steps exported, `STATE_*` from the main step for the post
 * step, and the `ACTIONS_ID_TOKEN_REQUEST_*` pair.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One step's run: its streams, exit code and the file commands it wrote. */
export interface StepResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** `GITHUB_ENV` as parsed (name → value, last write wins). */
  env: Record<string, string>;
  outputs: Record<string, string>;
  state: Record<string, string>;
  /** The raw file contents, for "this secret is not in there" checks. */
  files: { env: string; outputs: string; state: string };
  summary: string;
}

export interface StepOptions {
  /** The `with:` block. */
  with?: Record<string, string>;
  /** Job environment on top of the runner's (e.g. the OIDC request variables); undefined values are left out. */
  env?: Record<string, string | undefined>;
}

export interface Runner {
  /** The folder holding the copied action (and each step's files). */
  dir: string;
  /** The inputs with defaults in the copied action.yml. */
  defaults: Record<string, string>;
  runMain(options?: StepOptions): Promise<StepResult>;
  /** Runs the post step after `main`: its exported variables and saved state carry over. */
  runPost(main: StepResult, options?: StepOptions): Promise<StepResult>;
  close(): Promise<void>;
}

interface ActionManifest {
  inputs?: Record<string, { default?: string | number | boolean }>;
  runs: { using: string; main: string; post?: string };
}

/** Copies the committed action into a temporary folder and returns a runner for it. */
export async function createRunner(): Promise<Runner> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-runner-'));
  const actionDir = join(dir, 'action-repo');
  await mkdir(actionDir, { recursive: true });
  await cp(join(REPO, 'action.yml'), join(actionDir, 'action.yml'));
  await cp(join(REPO, 'action', 'dist'), join(actionDir, 'action', 'dist'), { recursive: true });
  // The repository root's package.json says "type": "module"; the checkout the runner makes has it too.
  await writeFile(join(actionDir, 'package.json'), '{ "type": "module" }\n');
  const manifest = parseYaml(await readFile(join(actionDir, 'action.yml'), 'utf8')) as ActionManifest;
  if (manifest.runs.using !== 'node24') throw new Error(`action.yml runs.using is ${manifest.runs.using}`);
  const defaults: Record<string, string> = {};
  for (const [name, input] of Object.entries(manifest.inputs ?? {})) {
    if (input.default !== undefined) defaults[name] = String(input.default);
  }
  let steps = 0;
  const step = async (file: string, extraEnv: Record<string, string>, options: StepOptions): Promise<StepResult> => {
    steps += 1;
    const stepDir = join(dir, `step-${steps}`);
    await mkdir(stepDir);
    const paths = { env: join(stepDir, 'env'), outputs: join(stepDir, 'output'), state: join(stepDir, 'state'), summary: join(stepDir, 'summary.md') };
    for (const path of Object.values(paths)) await writeFile(path, '');
    const env: Record<string, string> = {
      ...baseEnvironment(dir),
      ...extraEnv,
      ...definedOnly(options.env ?? {}),
      ...inputVariables({ ...defaults, ...options.with }),
      GITHUB_ENV: paths.env,
      GITHUB_OUTPUT: paths.outputs,
      GITHUB_STATE: paths.state,
      GITHUB_STEP_SUMMARY: paths.summary,
    };
    const run = await runNode(join(actionDir, file), env, dir);
    const files = { env: await readFile(paths.env, 'utf8'), outputs: await readFile(paths.outputs, 'utf8'), state: await readFile(paths.state, 'utf8') };
    return {
      ...run,
      files,
      env: parseFileCommands(files.env),
      outputs: parseFileCommands(files.outputs),
      state: parseFileCommands(files.state),
      summary: await readFile(paths.summary, 'utf8'),
    };
  };
  return {
    dir,
    defaults,
    runMain: (options = {}) => step(manifest.runs.main, {}, options),
    runPost: (main, options = {}) => {
      if (manifest.runs.post === undefined) throw new Error('action.yml has no post step');
      const state = Object.fromEntries(Object.entries(main.state).map(([name, value]) => [`STATE_${name}`, value]));
      return step(manifest.runs.post, { ...main.env, ...state }, options);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What every step gets from the runner itself (a small, fixed set: nothing from this test process). */
function baseEnvironment(dir: string): Record<string, string> {
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

/** `INPUT_<NAME>`: upper case, spaces to `_`, hyphens kept, as the runner names them. */
function inputVariables(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]));
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Parses the runner's file-command format: `NAME<<DELIM` … `DELIM` blocks and `NAME=value` lines. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc !== null) {
      const [, name = '', delimiter] = heredoc;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '');
      if (i >= lines.length) throw new Error(`unterminated file command for ${name}`);
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

/** Runs one step's process; kills it (and fails the test) if it outlives 60 s. */
export function runNode(file: string, env: Record<string, string>, cwd: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`step ${file} did not finish within 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, stdout, stderr });
    });
  });
}

/**
 * Asserts the runner's masking contract for each secret: it appears in stdout
 * first inside an `::add-mask::` command and nowhere else; returns problems.
 */
export function maskingProblems(stdout: string, secrets: readonly string[]): string[] {
  const problems: string[] = [];
  const lines = stdout.split('\n');
  for (const secret of secrets) {
    const maskLine = lines.findIndex((line) => line === `::add-mask::${secret}`);
    if (maskLine === -1) problems.push(`secret ${secret.slice(0, 6)}… is never masked`);
    const firstUse = lines.findIndex((line) => line.includes(secret));
    if (firstUse !== maskLine) problems.push(`secret ${secret.slice(0, 6)}… appears on line ${firstUse + 1} before its mask (line ${maskLine + 1})`);
    const uses = lines.filter((line) => line.includes(secret) && line !== `::add-mask::${secret}`);
    if (uses.length > 0) problems.push(`secret ${secret.slice(0, 6)}… is printed outside its mask command`);
    const masked = lines
      .slice(0, Math.max(0, maskLine))
      .some((line) => line.startsWith('::') && !line.startsWith('::add-mask::') && !line.startsWith('::debug::'));
    if (masked) problems.push(`a workflow command other than add-mask precedes the mask of ${secret.slice(0, 6)}…`);
  }
  return problems;
}

/** A step's `::error::` annotation, decoded the way the runner shows it (empty when there is none). */
export function errorAnnotation(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
}
