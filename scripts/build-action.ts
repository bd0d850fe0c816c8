/**
 * Bundles the Actions' entry points into committed files: the access Action
 * (`action/dist/main.js`, `action/dist/post.js`) and the policy review
 * Action (`policy-check/dist/index.js`). ESM for node24, everything inlined
 * (they run with no node_modules), a createRequire banner because bundled
 * CommonJS (`tunnel` in @actions/http-client) still calls require() for
 * built-ins. Prints each bundle's size; a bundle over 1 MiB is an error.
 *
 *   node scripts/build-action.ts           write the bundles
 *   node scripts/build-action.ts --check   exit 1 if the committed bundles differ from a fresh build
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'action', 'dist');

const BANNER = "import { createRequire as __latchkeyCreateRequire } from 'node:module'; const require = __latchkeyCreateRequire(import.meta.url);";

/** The one build configuration: the same inputs and esbuild version always give the same bytes. */
export const ACTION_BUILD: BuildOptions = {
  entryPoints: {
    main: join(root, 'action', 'src', 'main-entry.ts'),
    post: join(root, 'action', 'src', 'post-entry.ts'),
  },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  legalComments: 'eof',
  charset: 'utf8',
  banner: { js: BANNER },
  sourcemap: false,
  metafile: false,
  write: false,
  logLevel: 'warning',
};

/** The policy review Action (`policy-check/action.yml`): the same settings, its own entry and folder. */
export const POLICY_CHECK_BUILD: BuildOptions = {
  ...ACTION_BUILD,
  entryPoints: { index: join(root, 'policy-check', 'src', 'entry.ts') },
  outdir: join(root, 'policy-check', 'dist'),
};

/** Runners download the repository for each run: keep every bundle small. */
const MAX_BUNDLE_BYTES = 1024 * 1024;

const check = process.argv.includes('--check');
const results = [await build(ACTION_BUILD), await build(POLICY_CHECK_BUILD)];
let stale = 0;
let oversized = 0;
for (const file of results.flatMap((result) => result.outputFiles ?? [])) {
  const name = relative(root, file.path);
  const kb = (file.contents.byteLength / 1024).toFixed(1);
  if (file.contents.byteLength > MAX_BUNDLE_BYTES) {
    oversized += 1;
    console.error(`${name}  ${kb} KiB is over the ${MAX_BUNDLE_BYTES / 1024} KiB limit`);
  }
  if (check) {
    const committed = await readFile(file.path).catch(() => undefined);
    const same = committed !== undefined && Buffer.compare(committed, Buffer.from(file.contents)) === 0;
    if (!same) stale += 1;
    console.log(`${name}  ${kb} KiB  ${same ? 'up to date' : 'DIFFERS from a fresh build'}`);
  } else {
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, file.contents);
    console.log(`${name}  ${kb} KiB`);
  }
}
if (stale > 0) {
  console.error(`${stale} bundle(s) differ from the sources: run \`npm run build:action\` and commit action/dist/ and policy-check/dist/`);
  process.exitCode = 1;
}
if (oversized > 0) process.exitCode = 1;
