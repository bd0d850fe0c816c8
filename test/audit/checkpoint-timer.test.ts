/**
 * The checkpoint emitter over a real SQLite store with a real key: emits
 * only when the head moved, once more at shutdown, into the log and the
 * checkpoint file, and refuses to sign over a chain cut below its last
 * checkpoint. The interval timer is injected; ticks are driven by hand.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  createCheckpointSink,
  createCheckpointTimer,
  startAuditCheckpoints,
  type EmittedCheckpoint,
  type IntervalTimers,
} from '../../exchange-service/src/audit/checkpoint-timer.ts';
import { readKeysDir } from '../../exchange-service/src/audit/checkpoint-keys.ts';
import { signCheckpoint, verifyCheckpoint } from '../../exchange-service/src/audit/checkpoint.ts';
import { createKeyFile, type SigningKey } from '../../exchange-service/src/jws/signing-keys.ts';
import { createLogger } from '../../exchange-service/src/log.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import type { Store } from '../../exchange-service/src/store/store.ts';
import { NOW_MS, makeBody, makeTempDir, readAll } from '../store/fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

let key: SigningKey;
before(async () => {
  key = await createKeyFile(join(temp.dir, 'keys'), 'ES256');
});

/** A logger writing into an array of parsed lines. */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}

/** Interval timers that only record what was asked of them. */
function manualTimers(): IntervalTimers & { callback?: () => void; ms?: number; cleared: boolean } {
  const timers: IntervalTimers & { callback?: () => void; ms?: number; cleared: boolean } = {
    cleared: false,
    setInterval(callback, ms) {
      timers.callback = callback;
      timers.ms = ms;
      return 'handle';
    },
    clearInterval(handle) {
      assert.equal(handle, 'handle');
      timers.cleared = true;
    },
  };
  return timers;
}

let counter = 0;
async function freshStore(): Promise<{ store: Store; path: string }> {
  counter += 1;
  const path = join(temp.dir, `store-${counter}`, 'latchkey.db');
  return { store: await openSqliteStore(path, { now: () => NOW_MS }), path };
}

function timerOver(store: Store, emitted: EmittedCheckpoint[], extra: { timers?: IntervalTimers; logger?: ReturnType<typeof createLogger> } = {}) {
  return createCheckpointTimer({
    store,
    intervalSeconds: 300,
    sign: (claims) => signCheckpoint(key, claims),
    emit: async (checkpoint) => void emitted.push(checkpoint),
    now: () => NOW_MS,
    logger: extra.logger ?? captureLogger().logger,
    issuer: 'https://latchkey.test',
    policySetVersion: () => 'set-1',
    timers: extra.timers,
  });
}

describe('checkpoint timer', () => {
  test('emits only when the head moved', async () => {
    const { store } = await freshStore();
    const emitted: EmittedCheckpoint[] = [];
    const timers = manualTimers();
    const timer = timerOver(store, emitted, { timers });
    try {
      timer.start();
      assert.equal(timers.ms, 300_000);
      assert.equal(await timer.tick(), undefined, 'an empty log has nothing to sign');

      await store.appendAudit(makeBody(1));
      await store.appendAudit(makeBody(2));
      const first = await timer.tick();
      const records = await readAll(store);
      assert.deepEqual(first?.claims, {
        seq: 2,
        hash: records[1]?.hash,
        time: new Date(NOW_MS).toISOString(),
        iss: 'https://latchkey.test',
        policy_set_version: 'set-1',
      });
      assert.equal(await timer.tick(), undefined, 'head unchanged: nothing new');

      await store.appendAudit(makeBody(3));
      timers.callback?.(); // the interval firing
      assert.equal(await timer.tick(), undefined, 'the interval tick already signed seq 3');
      assert.deepEqual(
        emitted.map((c) => c.claims.seq),
        [2, 3],
      );
      const jwks = await readKeysDir(join(temp.dir, 'keys'));
      for (const checkpoint of emitted) assert.deepEqual((await verifyCheckpoint(checkpoint.jws, jwks)).claims, checkpoint.claims);
    } finally {
      await timer.stop();
      await store.close();
    }
  });

  test('shutdown emits a last checkpoint when the head moved, once', async () => {
    const { store } = await freshStore();
    const emitted: EmittedCheckpoint[] = [];
    const timers = manualTimers();
    const timer = timerOver(store, emitted, { timers });
    try {
      timer.start();
      await store.appendAudit(makeBody(1));
      await timer.tick();
      await store.appendAudit(makeBody(2));
      const last = await timer.stop();
      assert.equal(last?.claims.seq, 2);
      assert.equal(timers.cleared, true);
      assert.equal(await timer.stop(), undefined, 'a second stop does nothing');
      assert.deepEqual(
        emitted.map((c) => c.claims.seq),
        [1, 2],
      );
    } finally {
      await store.close();
    }
  });

  test('shutdown with the head already signed emits nothing', async () => {
    const { store } = await freshStore();
    const emitted: EmittedCheckpoint[] = [];
    const timer = timerOver(store, emitted, { timers: manualTimers() });
    try {
      await store.appendAudit(makeBody(1));
      await timer.tick();
      assert.equal(await timer.stop(), undefined);
      assert.equal(emitted.length, 1);
    } finally {
      await store.close();
    }
  });

  test('a chain cut below the last checkpoint is logged and never signed over', async () => {
    const { store, path } = await freshStore();
    const emitted: EmittedCheckpoint[] = [];
    const { logger, lines } = captureLogger();
    const timer = timerOver(store, emitted, { timers: manualTimers(), logger });
    try {
      for (let n = 1; n <= 4; n += 1) await store.appendAudit(makeBody(n));
      assert.equal((await timer.tick())?.claims.seq, 4);
      const db = new DatabaseSync(path);
      db.exec('DELETE FROM audit WHERE seq > 2');
      db.close();
      assert.equal(await timer.tick(), undefined);
      await store.appendAudit(makeBody(5));
      await store.appendAudit(makeBody(6));
      assert.equal(await timer.tick(), undefined, 'the chain grew back past seq 4, but seq 4 is not the record signed');
      assert.equal(await timer.stop(), undefined);
      assert.deepEqual(
        emitted.map((c) => c.claims.seq),
        [4],
      );
      const errors = lines.filter((line) => line.level === 'error');
      assert.ok(errors.length >= 2);
      assert.equal(errors[0]?.msg, 'audit chain changed below the last checkpoint: not signing');
      assert.equal(errors[0]?.checkpoint_seq, 4);
    } finally {
      await store.close();
    }
  });

  test('a store that cannot be read is logged; the next tick tries again', async () => {
    const { store } = await freshStore();
    const emitted: EmittedCheckpoint[] = [];
    const { logger, lines } = captureLogger();
    let broken = true;
    const flaky: Store = {
      ...store,
      readAudit: (options) => (broken ? failingIterable() : store.readAudit(options)),
    };
    const timer = timerOver(flaky, emitted, { timers: manualTimers(), logger });
    try {
      await store.appendAudit(makeBody(1));
      assert.equal(await timer.tick(), undefined);
      assert.equal(lines.at(-1)?.msg, 'audit checkpoint failed');
      broken = false;
      assert.equal((await timer.tick())?.claims.seq, 1);
    } finally {
      await store.close();
    }
  });
});

describe('checkpoint sink and service wiring', () => {
  test('a log line with the JWS, and one line per checkpoint in the checkpoint file', async () => {
    const { logger, lines } = captureLogger();
    mkdirSync(join(temp.dir, 'sink'));
    const file = join(temp.dir, 'sink', 'checkpoints.txt');
    const emit = createCheckpointSink({ logger, file });
    const claims = { seq: 1, hash: 'a'.repeat(64), time: new Date(NOW_MS).toISOString() };
    const jws = await signCheckpoint(key, claims);
    await emit({ jws, claims });
    await emit({ jws, claims: { ...claims, seq: 2 } });
    assert.equal(readFileSync(file, 'utf8'), `${jws}\n${jws}\n`);
    assert.deepEqual(
      lines.map(({ msg, checkpoint, seq, level }) => ({ msg, checkpoint, seq, level })),
      [
        { msg: 'audit checkpoint', checkpoint: jws, seq: 1, level: 'info' },
        { msg: 'audit checkpoint', checkpoint: jws, seq: 2, level: 'info' },
      ],
    );
  });

  test('a checkpoint file that cannot be written is logged as an error; the log line still went out', async () => {
    const { logger, lines } = captureLogger();
    const emit = createCheckpointSink({ logger, file: join(temp.dir, 'no-such-folder', 'checkpoints.txt') });
    const claims = { seq: 1, hash: 'a'.repeat(64), time: new Date(NOW_MS).toISOString() };
    await emit({ jws: await signCheckpoint(key, claims), claims });
    assert.deepEqual(
      lines.map((line) => line.level),
      ['info', 'error'],
    );
  });

  const wiring: Array<{ name: string; interval: number; expected: number | undefined }> = [
    { name: 'checkpoint_interval 0 turns checkpoints off, shutdown included', interval: 0, expected: undefined },
    { name: 'checkpoint_interval 5m: the shutdown checkpoint signs the head', interval: 300, expected: 3 },
  ];
  for (const { name, interval, expected } of wiring) {
    test(name, async () => {
      const { store } = await freshStore();
      const { logger, lines } = captureLogger();
      try {
        for (let n = 1; n <= 3; n += 1) await store.appendAudit(makeBody(n));
        const timer = startAuditCheckpoints({
          store,
          audit: { checkpoint_interval: interval },
          signingKey: () => key,
          issuer: 'https://latchkey.test',
          policySetVersion: () => null,
          logger,
          now: () => NOW_MS,
        });
        assert.equal((await timer.stop())?.claims.seq, expected);
        assert.equal(lines.filter((line) => line.msg === 'audit checkpoint').length, expected === undefined ? 0 : 1);
      } finally {
        await store.close();
      }
    });
  }
});

async function* failingIterable(): AsyncGenerator<never> {
  yield* [];
  throw new Error('disk I/O error (injected)');
}
