/**
 * How the PostgreSQL store runs a database call: refused once the store is
 * closing, bounded by a deadline (the network may hang where the server
 * cannot time out), failures mapped to StoreUnavailableError, and tracked,
 * so close() waits for calls in flight before ending the pool.
 */
import { isConnectionLoss, toStoreError, withDeadline } from './errors.ts';
import type { ChainWrite, ChainWriter } from './writer.ts';
import { StoreUnavailableError, type StoredAuditRecord } from '../store.ts';

/** Tries of a read that met dropped connections (a restarted server, a NAT that forgot an idle one: one failure per pooled connection). */
const READ_TRIES = 3;

/** One database call. */
export type Work<T> = () => Promise<T>;

export interface Calls {
  /** A read: idempotent, so tried again on a connection that turned out to be dead. */
  read<T>(work: Work<T>): Promise<T>;
  /** A single-statement write outside the chain; never repeated (it may have committed). */
  write<T>(work: Work<T>): Promise<T>;
  /** A chain write, through the group-commit writer. */
  chain(request: ChainWrite): Promise<StoredAuditRecord>;
  /** Refuses new calls, waits for those in flight and for queued chain writes, then runs `end`. Idempotent. */
  close(end: () => Promise<void>): Promise<void>;
}

/** `writer` is undefined for a read-only store: its writes are refused. */
export function createCalls(writer: ChainWriter | undefined, deadlineMs: number): Calls {
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<unknown>>();
  const refusal = (write: boolean): StoreUnavailableError | undefined => {
    if (closing !== undefined) return new StoreUnavailableError('the store is closed');
    if (write && writer === undefined) return new StoreUnavailableError('the store was opened read-only');
    return undefined;
  };
  const attempt = async <T>(what: string, work: Work<T>, tries: number): Promise<T> => {
    for (let tried = 1; ; tried += 1) {
      try {
        return await withDeadline(work(), deadlineMs);
      } catch (error) {
        if (tried >= tries || !isConnectionLoss(error)) throw toStoreError(error, what);
      }
    }
  };
  const track = <T>(running: Promise<T>): Promise<T> => {
    inflight.add(running);
    const forget = () => inflight.delete(running);
    running.then(forget, forget);
    return running;
  };
  return {
    read: (work) => {
      const refused = refusal(false);
      return refused === undefined ? track(attempt('the store cannot be read', work, READ_TRIES)) : Promise.reject(refused);
    },
    write: (work) => {
      const refused = refusal(true);
      return refused === undefined ? track(attempt('the store could not commit', work, 1)) : Promise.reject(refused);
    },
    chain: (request) => {
      const refused = refusal(true);
      return refused === undefined && writer !== undefined ? writer.write(request) : Promise.reject(refused);
    },
    close(end) {
      closing ??= (async () => {
        await Promise.all([writer?.drain(), Promise.allSettled([...inflight])]);
        await end();
      })();
      return closing;
    },
  };
}
