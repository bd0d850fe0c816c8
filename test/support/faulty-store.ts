/**
 * A real store with a switchboard in front of it, for fault-injection tests
 * (the service's `wrapStore` hook): each method can be made to fail the way
 * a store fails (StoreUnavailableError, or another error), one at a time,
 * while the rest go to the real store underneath. It also keeps the real
 * store reachable, so a test can break it for real (close it under the
 * running service).
 */
import { StoreUnavailableError, type Store } from '../../exchange-service/src/store/store.ts';

/** The methods a fault can be set on. */
export type StoreMethod = Exclude<keyof Store, 'engine'>;

/** What a failing method throws: the store's own unavailability, or an error the store does not classify. */
export type StoreFault = 'unavailable' | 'unexpected';

/** The switchboard: set `faults[method]` to make it fail; delete it to heal. */
export interface FaultyStore {
  faults: Partial<Record<StoreMethod, StoreFault>>;
  /** Calls that were refused, by method. */
  refused: Partial<Record<StoreMethod, number>>;
  /** The real store underneath (set once the service opened it). */
  inner(): Store;
  /** Pass as `wrapStore` to startTestService / startServer. */
  wrap(store: Store): Store;
}

const METHODS: readonly StoreMethod[] = [
  'appendAudit',
  'commitGrant',
  'commitSignedGrant',
  'isReplayed',
  'getGrant',
  'findGrantByCredential',
  'markRevoked',
  'markUsed',
  'readAudit',
  'purgeExpired',
  'ping',
  'close',
  'countRequests',
  'peekRequests',
];

/** Creates a switchboard with no faults set. */
export function createFaultyStore(): FaultyStore {
  let real: Store | undefined;
  const board: FaultyStore = {
    faults: {},
    refused: {},
    inner() {
      if (real === undefined) throw new Error('the store has not been opened yet');
      return real;
    },
    wrap(store) {
      real = store;
      const wrapped = { engine: store.engine } as Record<string, unknown>;
      for (const method of METHODS) {
        wrapped[method] = (...args: unknown[]) => {
          const fault = board.faults[method];
          if (fault === undefined) return (store[method] as (...a: unknown[]) => unknown).apply(store, args);
          board.refused[method] = (board.refused[method] ?? 0) + 1;
          const error =
            fault === 'unavailable'
              ? new StoreUnavailableError(`${method}: disk I/O error (injected)`)
              : new TypeError(`${method}: something unexpected (injected)`);
          if (method === 'readAudit') throw error;
          return Promise.reject(error);
        };
      }
      // Every member of Store is set above; the cast only forgets which.
      return wrapped as unknown as Store;
    },
  };
  return board;
}
