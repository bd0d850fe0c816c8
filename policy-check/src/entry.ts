/** The bundle entry (`policy-check/dist/index.js`): real dependencies, then run(). */
import { readFile } from 'node:fs/promises';
import { createCoreRuntime } from './core-runtime.ts';
import { run } from './main.ts';
import { createOctokitCommentApi } from './octokit-comments.ts';

await run({
  runtime: createCoreRuntime(),
  env: process.env,
  cwd: process.cwd(),
  readTextFile: (path) => readFile(path, 'utf8'),
  createCommentApi: createOctokitCommentApi,
});
