/**
 * The SQLite writer thread's entry point (started by sqlite-writer-client.ts;
 * never imported). It owns the read-write connection: seals records (JCS +
 * SHA-256) and commits writes in groups (sqlite-batch.ts), so neither the
 * hashing nor the fsync of `synchronous=FULL` runs on the service's event
 * loop. For `:memory:`, whose only connection lives here, it serves reads.
 *
 * Running this module is its purpose, so it acts at import, unlike the rest
 * of the tree.
 */
import type { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { LogFields, Logger } from '../../log.ts';
import { createBatchWriter } from './batch.ts';
import { openWriteConnection } from './connection.ts';
import {
  createKeyReceiver,
  toWire,
  type FromWriter,
  type ReadRequest,
  type Settlement,
  type ToWriter,
  type WriteRequest,
  type WriterData,
} from './protocol.ts';
import { createReads, runRead, type Reads } from './reads.ts';

if (parentPort === null) throw new Error('sqlite-writer.ts runs only as a worker thread');
runWriter(parentPort, workerData as WriterData);

function runWriter(port: MessagePort, data: WriterData): void {
  const post = (message: FromWriter): void => port.postMessage(message);
  const logger = createPortLogger(post, {});
  let db: DatabaseSync;
  try {
    db = openWriteConnection(data.path, { busyTimeoutMs: data.busyTimeoutMs, logger, migratedAt: data.migratedAt });
  } catch (error) {
    post({ type: 'open-failed', error: toWire(error) });
    port.close();
    return;
  }
  const writer = createBatchWriter({ db, logger, maxBatch: data.maxBatch, settle: (settlements) => post({ type: 'settled', settlements }) });
  const reads = createReads(db);
  const receiveKey = createKeyReceiver();
  // A message that cannot be read (a key among them) would leave its caller waiting, and the writes
  // naming that key failing: end the thread, so the store fails closed and every caller hears.
  port.on('messageerror', (error) => {
    logger.error('unreadable message from the main thread; the store writer thread stops', { error });
    throw error;
  });
  port.on('message', (message: ToWriter) => {
    if (message.op === 'close') {
      // Messages arrive in order: every write sent before close is queued already.
      writer.drain();
      db.close();
      post({ type: 'closed' });
      port.close();
    } else if (message.op === 'read') {
      post({ type: 'settled', settlements: [answerRead(reads, message)] });
    } else if (message.op === 'grant' && message.unsigned !== undefined) {
      writer.submit({ id: message.id, request: { ...message, unsigned: receiveKey(message.unsigned) } });
    } else {
      writer.submit({ id: message.id, request: message as WriteRequest });
    }
  });
  post({ type: 'ready' });
}

function answerRead(reads: Reads, message: ReadRequest & { id: number }): Settlement {
  try {
    return { id: message.id, ok: true, value: runRead(reads, message.query, message.args) };
  } catch (error) {
    return { id: message.id, ok: false, error: toWire(error) };
  }
}

/** A Logger whose lines the main thread's logger writes (errors flattened to name and message, as that logger prints them). */
function createPortLogger(post: (message: FromWriter) => void, bound: LogFields): Logger {
  const send = (level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void => {
    const flat: LogFields = { ...bound };
    for (const [name, value] of Object.entries(fields)) flat[name] = value instanceof Error ? { name: value.name, message: value.message } : value;
    post({ type: 'log', level, message, fields: flat });
  };
  return {
    debug: () => {},
    info: (message, fields) => send('info', message, fields),
    warn: (message, fields) => send('warn', message, fields),
    error: (message, fields) => send('error', message, fields),
    child: (fields) => createPortLogger(post, { ...bound, ...fields }),
  };
}
