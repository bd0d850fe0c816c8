/**
 * Bundles the Action's entry points into the committed `action/dist/main.js`
 * and `action/dist/post.js`: ESM for node24, everything inlined (they run
 * with no node_modules), a createRequire banner because bundled CommonJS
 * (`tunnel` in @actions/http-client) still calls require() for built-ins.
 * Prints each bundle's size.
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

const check = process.argv.includes('--check');
const result = await build(ACTION_BUILD);
let stale = 0;
for (const file of result.outputFiles ?? []) {
  const name = relative(root, file.path);
  const kb = (file.contents.byteLength / 1024).toFixed(1);
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
  console.error(`${stale} bundle(s) differ from the sources: run \`npm run build:action\` and commit action/dist/`);
  process.exitCode = 1;
}
