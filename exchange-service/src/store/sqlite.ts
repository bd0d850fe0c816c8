/**
 * The embedded store on `node:sqlite`: WAL, `synchronous=FULL` (a credential
 * leaves only after its record is durably committed), versioned migrations,
 * and group commit (see sqlite-batch.ts) for throughput.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { silentLogger, type Logger } from '../log.ts';
import { createBatchWriter, isUnavailable, toStoreError, type BatchWriter } from './sqlite-batch.ts';
import { checkReadableSchema, migrate } from './sqlite-schema.ts';
import {
  CorruptRecordError, ReplayError, StoreUnavailableError,
  type CommitGrantInput, type GrantRow, type Store, type StoredAuditRecord,
} from './store.ts';

export interface SqliteStoreOptions {
  logger?: Logger;
  /** Clock in epoch milliseconds (like Date.now); decides whether a claimed jti has expired. */
  now?: () => number;
  /**
   * Open without writing anything: no directory, no pragmas that write, no
   * migration (for `audit verify` next to a running service). Writes then
   * reject with StoreUnavailableError.
   */
  readOnly?: boolean;
  /** How long to wait for another process's write lock; default 5000 ms. */
  busyTimeoutMs?: number;
  /** Most writes per group-commit transaction; default 1000. */
  maxBatch?: number;
}

const MEMORY = ':memory:';

/** Opens (creating and migrating unless read-only) the SQLite store at `path` (`:memory:` for tests). */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const db = openDatabase(path, options, logger, now);
  const sql = prepareStatements(db);
  const writer = createBatchWriter({ db, logger, maxBatch: options.maxBatch ?? 1000 });
  logger.info('store opened', { engine: 'sqlite', path, read_only: options.readOnly === true });
  return createSqliteStore(db, sql, writer, now);
}

function openDatabase(path: string, options: SqliteStoreOptions, logger: Logger, now: () => number): DatabaseSync {
  const readOnly = options.readOnly === true;
  if (path !== MEMORY) {
    if (readOnly && !existsSync(path)) throw new StoreUnavailableError(`no SQLite store at ${path}`);
    if (!readOnly) mkdirSync(dirname(path), { recursive: true });
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly, timeout: options.busyTimeoutMs ?? 5000, enableForeignKeyConstraints: true });
  } catch (error) {
    throw new StoreUnavailableError(`cannot open SQLite store ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    if (readOnly) {
      checkReadableSchema(db, path);
    } else {
      const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
      if (mode !== 'wal' && path !== MEMORY) logger.warn('SQLite WAL mode unavailable; writers will block readers', { path, journal_mode: mode });
      db.exec('PRAGMA synchronous = FULL');
      migrate(db, path, logger, now);
    }
    return db;
  } catch (error) {
    db.close();
    throw toStoreError(error, `cannot open SQLite store ${path}`);
  }
}

interface Statements {
  claimJti: StatementSync;
  findJti: StatementSync;
  insertGrant: StatementSync;
  getGrant: StatementSync;
  grantByCredential: StatementSync;
  revoke: StatementSync;
  use: StatementSync;
  purge: StatementSync;
  page: StatementSync;
  ping: StatementSync;
}

function prepareStatements(db: DatabaseSync): Statements {
  return {
    // A claim succeeds when the row is new, or when the old claim's token has expired.
    claimJti: db.prepare(
      'INSERT INTO jti (issuer, jti, expires_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE jti.expires_at < ?',
    ),
    findJti: db.prepare('SELECT 1 AS found FROM jti WHERE issuer = ? AND jti = ? AND expires_at >= ?'),
    insertGrant: db.prepare(
      'INSERT INTO grants (id, policy, kind, issuer, subject, repository_id, run_id, run_attempt, credential_sha256, ' +
        'issued_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getGrant: db.prepare('SELECT * FROM grants WHERE id = ?'),
    grantByCredential: db.prepare('SELECT * FROM grants WHERE credential_sha256 = ? ORDER BY issued_at DESC LIMIT 1'),
    revoke: db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    use: db.prepare('UPDATE grants SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?'),
    purge: db.prepare('DELETE FROM jti WHERE expires_at < ?'),
    page: db.prepare('SELECT seq, record FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
    ping: db.prepare('SELECT count(*) AS tables FROM sqlite_schema'),
  };
}

function createSqliteStore(db: DatabaseSync, sql: Statements, writer: BatchWriter, now: () => number): Store {
  let closed = false;
  /** Runs a read now; maps a failing or closed database to StoreUnavailableError. */
  const read = <T>(operation: () => T): Promise<T> => {
    if (closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(toStoreError(error, 'the store cannot be read'));
    }
  };
  return {
    engine: 'sqlite',
    appendAudit: (body) => writer.submit({ atomic: false, run: (context) => context.append(body) }),
    commitGrant: (input) => writer.submit({ atomic: true, run: (context) => commitGrantJob(sql, input, now, context.append) }),
    isReplayed: (issuer, jti, nowSeconds) => read(() => sql.findJti.get(issuer, jti, nowSeconds) !== undefined),
    getGrant: (id) => read(() => toGrantRow(sql.getGrant.get(id))),
    findGrantByCredential: (digest) => read(() => toGrantRow(sql.grantByCredential.get(digest))),
    markRevoked: (id, at) => writer.submit({ atomic: false, run: () => Number(sql.revoke.run(at, id).changes) > 0 }),
    markUsed: (id, at) => writer.submit({ atomic: false, run: () => void sql.use.run(at, id) }),
    purgeExpired: (nowSeconds) => writer.submit({ atomic: false, run: () => Number(sql.purge.run(nowSeconds).changes) }),
    readAudit: (options = {}) => readPages(sql.page, options, () => closed),
    ping: () => read(() => void sql.ping.get()),
    async close() {
      if (closed) return;
      writer.close();
      closed = true;
      db.close();
    },
  };
}

function commitGrantJob(
  sql: Statements, input: CommitGrantInput, now: () => number, append: (body: CommitGrantInput['record']) => StoredAuditRecord,
): StoredAuditRecord {
  const nowSeconds = Math.floor(now() / 1000);
  const claimed = sql.claimJti.run(input.issuer, input.jti, input.jtiExpiresAt, nowSeconds);
  if (Number(claimed.changes) === 0) throw new ReplayError('this subject token was already exchanged');
  const g = input.grant;
  sql.insertGrant.run(
    g.id, g.policy, g.kind, g.issuer, g.subject, g.repository_id, g.run_id, g.run_attempt, g.credential_sha256,
    g.issued_at, g.expires_at, g.revoked_at, g.last_used_at,
  );
  return append(input.record);
}

async function* readPages(
  page: StatementSync, options: { afterSeq?: number; pageSize?: number }, isClosed: () => boolean,
): AsyncGenerator<StoredAuditRecord> {
  const size = Math.min(Math.max(Math.trunc(options.pageSize ?? 500), 1), 10_000);
  let after = options.afterSeq ?? 0;
  for (;;) {
    if (isClosed()) throw new StoreUnavailableError('the store is closed');
    let rows: Record<string, unknown>[];
    try {
      rows = page.all(after, size);
    } catch (error) {
      throw isUnavailable(error) ? toStoreError(error, 'the audit log cannot be read') : error;
    }
    for (const row of rows) {
      const seq = Number(row.seq);
      yield parseRecord(seq, String(row.record));
      after = seq;
    }
    if (rows.length < size) return;
  }
}

function parseRecord(seq: number, text: string): StoredAuditRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptRecordError(seq, text, `audit record seq ${seq} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CorruptRecordError(seq, text, `audit record seq ${seq} is not a JSON object`);
  }
  return { ...(parsed as Omit<StoredAuditRecord, 'seq'>), seq };
}

function toGrantRow(row: Record<string, unknown> | undefined): GrantRow | undefined {
  if (row === undefined) return undefined;
  const text = (value: unknown): string | null => (value === null ? null : String(value));
  const time = (value: unknown): number | null => (value === null ? null : Number(value));
  return {
    id: String(row.id),
    policy: String(row.policy),
    kind: String(row.kind) as GrantRow['kind'],
    issuer: String(row.issuer),
    subject: text(row.subject),
    repository_id: text(row.repository_id),
    run_id: text(row.run_id),
    run_attempt: text(row.run_attempt),
    credential_sha256: text(row.credential_sha256),
    issued_at: Number(row.issued_at),
    expires_at: Number(row.expires_at),
    revoked_at: time(row.revoked_at),
    last_used_at: time(row.last_used_at),
  };
}
