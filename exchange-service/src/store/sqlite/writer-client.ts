/**
 * The main thread's side of the SQLite writer thread (sqlite-writer.ts):
 * starts it, sends it writes, settles each caller's promise when the
 * thread reports the COMMIT that held the write, and fails closed: if the
 * thread dies, every pending and later call rejects with
 * StoreUnavailableError.
 *
 * The thread keeps the process alive only while something waits on it, as
 * the synchronous store did: an idle store never holds up exit.
 */
import { Worker } from 'node:worker_threads';
import { CanonicalizationError } from '../../audit/jcs.ts';
import type { Logger } from '../../log.ts';
import {
  createKeySender,
  fromWire,
  type FromWriter,
  type ToWriter,
  type WireWrite,
  type WriteRequest,
  type WriterData,
  type WriteResults,
} from './protocol.ts';
import type { ReadQuery, Reads } from './reads.ts';
import { StoreUnavailableError } from '../store.ts';

export interface SqliteWriterOptions extends WriterData {
  logger: Logger;
  /** Called with the thread once it has opened the database. */
  onThread?: ((thread: Worker) => void) | undefined;
}

export interface SqliteWriter {
  /** Sends one write; resolves with its result once the COMMIT holding it returned. */
  write<R extends WriteRequest>(request: R): Promise<WriteResults[R['op']]>;
  /** Runs a read on the thread's connection (for `:memory:`). */
  read<Q extends ReadQuery>(query: Q, args: Parameters<Reads[Q]>): Promise<ReturnType<Reads[Q]>>;
  /** True until the thread is closed or has died. */
  readonly alive: boolean;
  /** Lets the thread commit every write sent so far, then waits for it to end. */
  close(): Promise<void>;
}

type State = 'opening' | 'open' | 'closing' | 'stopped';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Starts the writer thread, which opens (and migrates) the database; rejects
 * with StoreUnavailableError or StoreSchemaError if it cannot.
 */
export function startSqliteWriter(options: SqliteWriterOptions): Promise<SqliteWriter> {
  const { logger, onThread, ...data } = options;
  let thread: Worker;
  try {
    thread = new Worker(new URL('./writer.ts', import.meta.url), { workerData: data, name: 'latchkey-sqlite-writer' });
  } catch (error) {
    return Promise.reject(new StoreUnavailableError('the store writer thread could not start', { cause: error }));
  }
  return new Promise((resolve, reject) => {
    const client = createClient(thread, logger, {
      opened: () => {
        onThread?.(thread);
        resolve(client);
      },
      failed: reject,
    });
  });
}

/** What the client knows about its thread. */
interface Link {
  thread: Worker;
  logger: Logger;
  state: State;
  /** Callers waiting for an answer, by request id. */
  pending: Map<number, Pending>;
  /** Why opening failed, as the thread reported it. */
  openFailure?: Error;
  /** The exception that killed the thread, if one did. */
  crash?: unknown;
}

interface StartHooks {
  opened(): void;
  failed(error: Error): void;
}

function createClient(thread: Worker, logger: Logger, start: StartHooks): SqliteWriter {
  const link: Link = { thread, logger, state: 'opening', pending: new Map() };
  let nextId = 0;
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  thread.on('message', (message: FromWriter) => receive(link, message, start));
  // An answer that cannot be read would leave its caller waiting: stop the thread so every caller hears.
  thread.on('messageerror', (error) => {
    logger.error('unreadable message from the store writer thread; stopping it', { error });
    void thread.terminate();
  });
  thread.on('error', (error) => {
    link.crash = error;
  });
  thread.on('exit', (code) => stopped(link, code, start));
  const sendKey = createKeySender();
  return {
    write(request) {
      const id = (nextId += 1);
      const sending = request as WriteRequest; // a generic R does not narrow on op
      if (sending.op === 'grant' && sending.unsigned !== undefined) {
        const { wire, sent } = sendKey(sending.unsigned);
        return send(link, { ...sending, unsigned: wire, id }, sent);
      }
      // Any other write carries no key: it is its own wire form.
      return send(link, { ...(request as WireWrite), id });
    },
    read: (query, args) => send(link, { op: 'read', query, args, id: (nextId += 1) }),
    get alive() {
      return link.state === 'open';
    },
    async close() {
      if (link.state === 'open') {
        link.state = 'closing';
        thread.ref(); // until the thread has drained and ended
        thread.postMessage({ op: 'close' } satisfies ToWriter);
      }
      await exited;
    },
  };
}

function receive(link: Link, message: FromWriter, start: StartHooks): void {
  switch (message.type) {
    case 'settled':
      for (const s of message.settlements) settle(link, s.id, s.ok ? s : { ok: false, error: fromWire(s.error) });
      return;
    case 'log':
      link.logger[message.level](message.message, message.fields);
      return;
    case 'ready':
      link.state = 'open';
      link.thread.unref();
      start.opened();
      return;
    case 'open-failed':
      link.openFailure = fromWire(message.error); // the thread ends next
      return;
    case 'closed':
      // Everything is committed and the connection closed: end the thread now rather than trust it to wind down.
      void link.thread.terminate();
      return;
  }
}

function settle(link: Link, id: number, outcome: { ok: true; value: unknown } | { ok: false; error: Error }): void {
  const waiter = link.pending.get(id);
  if (waiter === undefined) return;
  link.pending.delete(id);
  if (link.pending.size === 0 && link.state === 'open') link.thread.unref();
  if (outcome.ok) waiter.resolve(outcome.value);
  else waiter.reject(outcome.error);
}

/** The thread ended (closed, crashed or terminated): fail every caller still waiting. */
function stopped(link: Link, code: number, start: StartHooks): void {
  const was = link.state;
  link.state = 'stopped';
  if (was === 'opening') {
    start.failed(link.openFailure ?? new StoreUnavailableError('the store writer thread could not start', { cause: link.crash }));
    return;
  }
  if (was === 'open') link.logger.error('the store writer thread stopped; the store is unavailable', { exit_code: code, error: link.crash });
  const error = new StoreUnavailableError('the store writer thread stopped', { cause: link.crash });
  for (const id of [...link.pending.keys()]) settle(link, id, { ok: false, error });
}

function send<T>(link: Link, message: ToWriter & { id: number }, sent?: () => void): Promise<T> {
  if (link.state !== 'open') {
    return Promise.reject(new StoreUnavailableError(link.state === 'stopped' ? 'the store writer thread stopped' : 'the store is closed'));
  }
  try {
    link.thread.postMessage(message);
  } catch (error) {
    return Promise.reject(unsendable(error));
  }
  sent?.();
  return new Promise<T>((resolve, reject) => {
    link.pending.set(message.id, { resolve: resolve as (value: unknown) => void, reject });
    if (link.pending.size === 1) link.thread.ref(); // a caller is waiting: keep the process alive for its answer
  });
}

/** postMessage refuses what it cannot clone (a function, a symbol): for a record body that means "not JSON data". */
function unsendable(error: unknown): Error {
  if (error instanceof Error && error.name === 'DataCloneError') {
    return new CanonicalizationError('the write holds a value that is not JSON data (a function or symbol)');
  }
  return new StoreUnavailableError('the write could not be sent to the store writer thread', { cause: error });
}
