/**
 * The messages between the SQLite store (main thread) and its writer thread
 * (sqlite-writer.ts). Messages are structured clones, so they stay small: a
 * write carries the record body, and its answer carries only the chain
 * position (seq, hash, prev_hash), never the sealed record text. Errors
 * cross as plain data and are rebuilt as the same classes on arrival.
 */
import { CanonicalizationError } from '../../audit/jcs.ts';
import type { KeyObject } from 'node:crypto';
import type { AuditRecordBody } from '../../audit/record.ts';
import type { UnsignedJws } from '../../jws/sign.ts';
import type { SignedCredential } from '../signed-grant.ts';
import type { ReadQuery } from './reads.ts';
import { ReplayError, StoreSchemaError, StoreUnavailableError, type CommitGrantInput } from '../store.ts';

/** What the writer thread is started with (`workerData`). */
export interface WriterData {
  path: string;
  busyTimeoutMs: number;
  maxBatch: number;
  /** Epoch ms recorded as `applied_at` if this open migrates the schema. */
  migratedAt: number;
}

/** One durable write; the writer commits many of them per transaction. */
export type WriteRequest =
  | { op: 'append'; body: AuditRecordBody }
  | { op: 'grant'; input: CommitGrantInput; nowSeconds: number; unsigned?: UnsignedJws }
  | { op: 'revoke'; grantId: string; at: number }
  | { op: 'use'; grantId: string; at: number }
  | { op: 'purge'; nowSeconds: number };

/** Where a sealed record landed. `rewritten` is the stored body, sent only when sealing changed it (lone surrogates). */
export interface SealedPosition {
  seq: number;
  hash: string;
  prev_hash: string;
  rewritten?: AuditRecordBody;
}

/** Where a grant's record landed, and the credential signed for it (when the request carried one unsigned). */
export interface GrantPosition extends SealedPosition {
  signed?: SignedCredential;
}

/** What each write op resolves to. */
export interface WriteResults {
  append: SealedPosition;
  grant: GrantPosition;
  revoke: boolean;
  use: undefined;
  purge: number;
}

/** A read served by the writer thread (only for `:memory:`, whose one connection lives there). */
export interface ReadRequest {
  op: 'read';
  query: ReadQuery;
  args: unknown[];
}

/**
 * An unsigned JWS as it crosses to the writer thread. Its key crosses once,
 * with the first write that uses it, and by number after that: a cloned
 * KeyObject is a new native handle on the writer's side, per grant.
 */
export interface WireJws {
  signingInput: string;
  keyId: number;
  key?: KeyObject;
}

/** A write as sent: a grant's unsigned JWS names its key (createKeySender, createKeyReceiver). */
export type WireWrite = Exclude<WriteRequest, { op: 'grant' }> | (Omit<Extract<WriteRequest, { op: 'grant' }>, 'unsigned'> & { unsigned?: WireJws });

/** Main thread → writer thread. */
export type ToWriter = ((WireWrite | ReadRequest) & { id: number }) | { op: 'close' };

/** The main thread's half: numbers keys, and sends each one the first time; `sent` once postMessage took it. */
export function createKeySender(): (unsigned: UnsignedJws) => { wire: WireJws; sent(): void } {
  const ids = new WeakMap<KeyObject, number>();
  let next = 0;
  return (unsigned) => {
    const known = ids.get(unsigned.key);
    if (known !== undefined) return { wire: { signingInput: unsigned.signingInput, keyId: known }, sent: () => {} };
    const keyId = (next += 1);
    return { wire: { signingInput: unsigned.signingInput, keyId, key: unsigned.key }, sent: () => ids.set(unsigned.key, keyId) };
  };
}

/** The writer thread's half: keeps each key it was sent; throws for a number it was never sent. */
export function createKeyReceiver(): (wire: WireJws) => UnsignedJws {
  const keys = new Map<number, KeyObject>();
  return (wire) => {
    if (wire.key !== undefined) keys.set(wire.keyId, wire.key);
    const key = keys.get(wire.keyId);
    if (key === undefined) throw new Error(`signing key ${wire.keyId} was never sent to the store writer thread`);
    return { signingInput: wire.signingInput, key };
  };
}

/** The answer to one request. */
export type Settlement = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** Writer thread → main thread. */
export type FromWriter =
  | { type: 'ready' }
  | { type: 'open-failed'; error: WireError }
  | { type: 'settled'; settlements: Settlement[] }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> }
  | { type: 'closed' };

type ErrorKind = 'replay' | 'unavailable' | 'schema' | 'canonicalization' | 'error';

/** An error as plain data. `code`/`errcode` keep node:sqlite's fields so callers can still classify it. */
export interface WireError {
  kind: ErrorKind;
  name: string;
  message: string;
  code?: string;
  errcode?: number;
  cause?: WireError;
}

function kindOf(error: Error): ErrorKind {
  if (error instanceof ReplayError) return 'replay';
  if (error instanceof StoreUnavailableError) return 'unavailable';
  if (error instanceof StoreSchemaError) return 'schema';
  if (error instanceof CanonicalizationError) return 'canonicalization';
  return 'error';
}

/** Flattens an error (and one level of cause) for postMessage. */
export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { kind: 'error', name: 'Error', message: String(error) };
  const { code, errcode } = error as Error & { code?: unknown; errcode?: unknown };
  const wire: WireError = { kind: kindOf(error), name: error.name, message: error.message };
  if (typeof code === 'string') wire.code = code;
  if (typeof errcode === 'number') wire.errcode = errcode;
  if (depth === 0 && error.cause !== undefined) wire.cause = toWire(error.cause, 1);
  return wire;
}

/** Rebuilds the error class `toWire` flattened. */
export function fromWire(wire: WireError): Error {
  const options = wire.cause === undefined ? undefined : { cause: fromWire(wire.cause) };
  switch (wire.kind) {
    case 'replay':
      return new ReplayError(wire.message, options);
    case 'unavailable':
      return new StoreUnavailableError(wire.message, options);
    case 'schema':
      return new StoreSchemaError(wire.message, options);
    case 'canonicalization':
      return new CanonicalizationError(wire.message, options);
    default: {
      const error = Object.assign(new Error(wire.message, options), wire.code === undefined ? {} : { code: wire.code });
      if (wire.errcode !== undefined) Object.assign(error, { errcode: wire.errcode });
      error.name = wire.name;
      return error;
    }
  }
}
