import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { coalescingStream, createLogger } from '../exchange-service/src/log.ts';

/** A stream that records each write call. */
function recorder(): { writes: string[]; write(chunk: unknown): boolean } {
  const writes: string[] = [];
  return {
    writes,
    write(chunk) {
      writes.push(String(chunk));
      return true;
    },
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coalescingStream', () => {
  it('writes the lines of one turn in one call, at the end of the turn, in order', async () => {
    const target = recorder();
    const logger = createLogger({ stream: coalescingStream(target) });
    logger.info('one', { request_id: 'a' });
    logger.info('two', { request_id: 'b' });
    logger.warn('three');
    assert.equal(target.writes.length, 0, 'nothing is written before the turn ends');
    await nextTurn();
    assert.equal(target.writes.length, 1);
    const lines = (target.writes[0] ?? '')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['one', 'two', 'three'],
    );
    logger.info('four');
    await nextTurn();
    assert.equal(target.writes.length, 2, 'a later turn is a later write');
    assert.match(target.writes[1] ?? '', /"msg":"four"/);
  });

  it('writes at once past 64 KiB rather than holding more', () => {
    const target = recorder();
    const stream = coalescingStream(target);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i += 1) stream.write(line);
    assert.equal(target.writes.length, 1);
    assert.equal(target.writes[0]?.length, 64 * 1024);
    stream.write('tail\n');
    stream.flush();
    assert.deepEqual(target.writes.slice(1), ['tail\n']);
  });

  it('writes what is pending when the process exits in the same turn', () => {
    const script = [
      `import { coalescingStream, createLogger } from ${JSON.stringify(new URL('../exchange-service/src/log.ts', import.meta.url).href)};`,
      'const logger = createLogger({ stream: coalescingStream(process.stderr) });',
      "logger.error('last words', { code: 7 });",
      'process.exit(3);',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /"msg":"last words","code":7/);
  });
});
