/**
 * The batch writer checkpoints the WAL itself, between transactions, every
 * CHECKPOINT_EVERY writes (SQLite's automatic checkpoint, which runs inside
 * a COMMIT, is only a backstop at 10,000 frames): after many grants the WAL
 * holds only the frames written since the last checkpoint, not all of them.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { CHECKPOINT_EVERY } from '../../../exchange-service/src/store/sqlite/batch.ts';
import { openSqliteStore } from '../../../exchange-service/src/store/sqlite/store.ts';
import { NOW_MS, makeGrantInput, makeTempDir } from '../fixtures.ts';

/** Frames one lone grant transaction writes at most (every page it touches, interior pages included). */
const MAX_FRAMES_PER_GRANT = 12;

describe('SQLite WAL checkpoints', () => {
  const temp = makeTempDir();
  after(() => temp.remove());

  test('the WAL is checkpointed and restarted under a stream of grants, so it stays short', async () => {
    const path = join(temp.dir, 'latchkey.db');
    const store = await openSqliteStore(path, { now: () => NOW_MS });
    const grants = 8 * CHECKPOINT_EVERY;
    try {
      // One grant at a time: each is its own transaction, the most WAL frames per grant.
      for (let n = 0; n < grants; n += 1) await store.commitGrant(makeGrantInput(n));
      const probe = new DatabaseSync(path);
      try {
        // `log` = frames in the WAL now; `checkpointed` = of those, already in the database file.
        const row = probe.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { busy: number; log: number; checkpointed: number };
        // A lone grant writes about 9 frames: 8 rounds without checkpoints leave over 2,000 in the WAL.
        assert.ok(row.log <= MAX_FRAMES_PER_GRANT * CHECKPOINT_EVERY, `the WAL holds ${row.log} frames after ${grants} grants`);
      } finally {
        probe.close();
      }
      const walBytes = statSync(`${path}-wal`).size;
      assert.ok(walBytes < 4096 * MAX_FRAMES_PER_GRANT * CHECKPOINT_EVERY * 2, `the WAL file grew to ${walBytes} bytes`);
    } finally {
      await store.close();
    }
  });
});
