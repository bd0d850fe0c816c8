/**
 * STYLE.md: files under ~250 lines. The hard limit checked here is 300 lines
 * for every .ts file of the service and the Action.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const roots = ['exchange-service/src', 'action/src'];
const maxLines = 300;

/** Counts lines the way an editor numbers them: a final newline does not start another line. */
function countLines(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

async function typeScriptFiles(root: string): Promise<string[]> {
  const entries = await readdir(join(repo, root), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => relative(repo, join(e.parentPath, e.name)));
}

describe('file size', () => {
  it('counts lines as an editor does', () => {
    assert.equal(countLines(''), 0);
    assert.equal(countLines('a'), 1);
    assert.equal(countLines('a\n'), 1);
    assert.equal(countLines('a\nb'), 2);
    assert.equal(countLines('a\n\n'), 2);
  });

  it(`no .ts file in ${roots.join(' or ')} is over ${maxLines} lines`, async () => {
    const files = (await Promise.all(roots.map(typeScriptFiles))).flat();
    assert.ok(files.length > 50, `found only ${files.length} files under ${roots.join(', ')}`);
    const sizes = await Promise.all(files.map(async (file) => ({ file, lines: countLines(await readFile(join(repo, file), 'utf8')) })));
    const offenders = sizes.filter((s) => s.lines > maxLines).sort((a, b) => b.lines - a.lines);
    assert.equal(offenders.length, 0, `${offenders.length} files over ${maxLines} lines:\n${offenders.map((s) => `${s.file}: ${s.lines}`).join('\n')}`);
  });
});
