/**
 * Property tests of the audit hash chain (SPEC §5; ATTACKS.md 26): over
 * random chains of records with random claim text (control characters,
 * lone surrogates, astral characters), any single-byte change, deletion,
 * insertion or reordering is detected, and the first bad record is the one
 * named. First in memory (verifyChain over the records as stored), then on
 * real SQLite files tampered with plain SQL and checked by `latchkey audit
 * verify`.
 *
 * What a bare hash chain cannot see, by design, is asserted too: removing
 * the newest records, or appending new ones, leaves a valid shorter or
 * longer chain (the signed checkpoints of SPEC §5 are what catch those).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { GENESIS_HASH, sealRecord, verifyChain, type SequencedRecord } from '../../exchange-service/src/audit/chain.ts';
import type { AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { makeBody } from '../store/fixtures.ts';

/** Claim text an attacker controls: any UTF-16 (lone surrogates included), plus terminal escapes and separators. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('\n', '"', '\\', '\u0000', '\u001b[2J', '\u2028', '\u202e', '\u{1F680}', 'refs/heads/main'),
);
const bodies = fc
  .array(fc.record({ actor: hostileText, ref: hostileText, justification: fc.option(hostileText, { nil: null }), granted: fc.boolean() }), {
    minLength: 2,
    maxLength: 10,
  })
  .map((items) =>
    items.map(
      (item, i): AuditRecordBody =>
        makeBody(
          i + 1,
          { justification: item.justification, ...(item.granted ? { outcome: 'granted', reason: null } : {}) },
          { actor: item.actor, ref: item.ref },
        ),
    ),
  );

/** Seals bodies into a chain as the store does: seq from 1, each prev_hash the hash before it. */
function chainOf(items: readonly AuditRecordBody[]): SequencedRecord[] {
  let previous = GENESIS_HASH;
  return items.map((body, i) => {
    const record = sealRecord(previous, body);
    previous = record.hash;
    return { ...record, seq: i + 1 };
  });
}

/** Renumbers seq by position, as a careful forger would. */
const renumbered = (records: readonly SequencedRecord[]): SequencedRecord[] => records.map((record, i) => ({ ...record, seq: i + 1 }));

/** Asserts the verdict is broken and names the record at `position` (0-based) as the first bad one. */
function assertBrokenAt(tampered: readonly SequencedRecord[], position: number): void {
  const verdict = verifyChain(tampered);
  assert.equal(verdict.ok, false, 'the tampering went unnoticed');
  if (verdict.ok) return;
  assert.equal(verdict.count, position, `first bad record at position ${position}, got ${verdict.count}: ${verdict.problem}`);
  assert.equal(verdict.seq, tampered[position]?.seq);
}

describe('audit chain properties (in memory)', () => {
  it('ATTACKS 28: a random chain verifies, however hostile its claim text', () => {
    fc.assert(
      fc.property(bodies, (items) => {
        const verdict = verifyChain(chainOf(items));
        assert.equal(verdict.ok, true, JSON.stringify(verdict));
        assert.equal(verdict.count, items.length);
      }),
      { numRuns: 100 },
    );
  });

  it('ATTACKS 26: any single-byte change to a stored record is detected at that record', () => {
    let changed = 0;
    fc.assert(
      fc.property(bodies, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (items, which, offset, flip) => {
        const records = chainOf(items);
        const position = which % records.length;
        const { seq, ...stored } = records[position] as SequencedRecord;
        const bytes = Buffer.from(JSON.stringify(stored), 'utf8');
        const at = offset % bytes.length;
        bytes[at] = (bytes[at] as number) ^ flip;
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
        } catch {
          return; // not UTF-8 JSON any more: the store refuses to read it (CorruptRecordError), checked below on SQLite
        }
        // A change of spelling only (`\u001b` → `\u001B`) leaves the record's content, and so its meaning, as it was.
        if (isDeepStrictEqual(parsed, stored)) return;
        changed += 1;
        const tampered = records.map((record, i) => (i === position ? ({ ...(parsed as object), seq } as SequencedRecord) : record));
        assertBrokenAt(tampered, position);
      }),
      { numRuns: 300 },
    );
    assert.ok(changed > 75, `most byte changes left parsable JSON with new content (${changed})`);
  });

  it('ATTACKS 26: deleting any record but the newest is detected, whether or not seq is renumbered', () => {
    fc.assert(
      fc.property(bodies, fc.nat(), fc.boolean(), (items, which, renumber) => {
        const records = chainOf(items);
        const position = which % (records.length - 1);
        const remaining = records.filter((_, i) => i !== position);
        assertBrokenAt(renumber ? renumbered(remaining) : remaining, position);
      }),
      { numRuns: 200 },
    );
  });

  it('ATTACKS 26: inserting a forged record before any existing one is detected, even when it is chained onto its predecessor', () => {
    fc.assert(
      fc.property(bodies, fc.nat(), fc.boolean(), hostileText, (items, which, chained, actor) => {
        const records = chainOf(items);
        const position = which % records.length;
        const previous = position === 0 ? GENESIS_HASH : (records[position - 1] as SequencedRecord).hash;
        const sealed = sealRecord(previous, makeBody(99, { outcome: 'granted', reason: null }, { actor }));
        const forged = chained ? sealed : { ...sealed, hash: 'f'.repeat(64) };
        const tampered = renumbered([...records.slice(0, position), { ...forged, seq: 0 }, ...records.slice(position)]);
        // A well-chained forgery verifies itself; the record it pushed down no longer links to it.
        assertBrokenAt(tampered, chained ? position + 1 : position);
      }),
      { numRuns: 200 },
    );
  });

  it('ATTACKS 26: swapping any two records is detected at the first of them, whether or not seq is renumbered', () => {
    fc.assert(
      fc.property(bodies, fc.nat(), fc.nat(), fc.boolean(), (items, a, b, renumber) => {
        const records = chainOf(items);
        const i = a % records.length;
        const j = b % records.length;
        fc.pre(i !== j);
        const [first, second] = [Math.min(i, j), Math.max(i, j)];
        const swapped = records.slice();
        [swapped[first], swapped[second]] = [swapped[second] as SequencedRecord, swapped[first] as SequencedRecord];
        assertBrokenAt(renumber ? renumbered(swapped) : swapped, first);
      }),
      { numRuns: 200 },
    );
  });

  it('what the chain alone cannot see: a dropped tail or an appended record leaves a valid chain', () => {
    fc.assert(
      fc.property(bodies, fc.nat(), (items, cut) => {
        const records = chainOf(items);
        const kept = records.slice(0, 1 + (cut % records.length));
        assert.equal(verifyChain(kept).ok, true, 'a shorter prefix is a valid chain: only a signed checkpoint shows the loss');
        const appended = [...records, { ...sealRecord((records.at(-1) as SequencedRecord).hash, makeBody(99)), seq: records.length + 1 }];
        assert.equal(verifyChain(appended).ok, true, 'anyone can extend a keyless chain: checkpoints date the head');
      }),
      { numRuns: 100 },
    );
  });
});

/** Runs `latchkey audit verify --store URL` in process; resolves with the exit code and stdout. */
async function auditVerify(url: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const sink = (append: (text: string) => void) => new Writable({ write: (chunk: Buffer, _encoding, done) => (append(chunk.toString()), done()) });
  const code = await runAuditCommand(['verify', '--store', url], { stdout: sink((text) => (stdout += text)), stderr: sink(() => {}), env: {} });
  return { code, stdout };
}

type Tamper =
  | { kind: 'edit'; seq: number; offset: number; replacement: string }
  | { kind: 'delete'; seq: number }
  | { kind: 'swap'; seq: number; other: number };

/** Applies one tampering with plain SQL, as someone with write access to the file would; returns the first bad seq. */
function tamper(path: string, change: Tamper, count: number): number | undefined {
  const db = new DatabaseSync(path);
  try {
    const text = (seq: number) => String(db.prepare('SELECT record FROM audit WHERE seq = ?').get(seq)?.record);
    if (change.kind === 'edit') {
      const record = text(change.seq);
      const at = change.offset % record.length;
      if (record[at] === change.replacement) return undefined;
      const edited = record.slice(0, at) + change.replacement + record.slice(at + 1);
      db.prepare('UPDATE audit SET record = ? WHERE seq = ?').run(edited, change.seq);
      return change.seq;
    }
    if (change.kind === 'delete') {
      if (change.seq === count) return undefined; // the newest record: a truncated tail (see above)
      db.prepare('DELETE FROM audit WHERE seq = ?').run(change.seq);
      return change.seq + 1;
    }
    if (change.seq === change.other) return undefined;
    const [low, high] = [Math.min(change.seq, change.other), Math.max(change.seq, change.other)];
    const [lowText, highText] = [text(low), text(high)];
    db.prepare('UPDATE audit SET record = ? WHERE seq = ?').run(highText, low);
    db.prepare('UPDATE audit SET record = ? WHERE seq = ?').run(lowText, high);
    return low;
  } finally {
    db.close();
  }
}

describe('audit chain properties (SQLite file, latchkey audit verify)', () => {
  const COUNT = 8;
  let dir: string;
  let pristine: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-chain-prop-'));
    pristine = join(dir, 'pristine.db');
    const store = await openSqliteStore(pristine);
    for (let n = 1; n <= COUNT; n += 1) await store.appendAudit(makeBody(n, {}, { actor: `actor\n"${n}"\u001b[0m`, ref: `refs/heads/\u{1F680}-${n}` }));
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const seqs = fc.integer({ min: 1, max: COUNT });
  const changes: fc.Arbitrary<Tamper> = fc.oneof(
    fc.record({ kind: fc.constant('edit' as const), seq: seqs, offset: fc.nat(), replacement: fc.constantFrom('0', 'a', '"', '}', ' ', '\\', 'é') }),
    fc.record({ kind: fc.constant('delete' as const), seq: seqs }),
    fc.record({ kind: fc.constant('swap' as const), seq: seqs, other: seqs }),
  );

  it('the untouched file verifies (exit 0)', async () => {
    const result = await auditVerify(`sqlite:${pristine}`);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, new RegExp(`intact: ${COUNT} records`));
  });

  it('ATTACKS 26: an edited byte, a deleted record or two swapped records: exit 1 naming the first bad seq', async () => {
    let run = 0;
    let tampered = 0;
    await fc.assert(
      fc.asyncProperty(changes, async (change) => {
        run += 1;
        const path = join(dir, `run-${run}.db`);
        copyFileSync(pristine, path);
        const firstBad = tamper(path, change, COUNT);
        if (firstBad === undefined) return;
        tampered += 1;
        const result = await auditVerify(`sqlite:${path}`);
        assert.equal(result.code, 1, result.stdout);
        assert.match(result.stdout, new RegExp(`^audit chain broken at seq ${firstBad} `), result.stdout);
        rmSync(path);
      }),
      { numRuns: 30 },
    );
    assert.ok(tampered >= 18, `enough runs tampered with the file (${tampered})`);
  });
});
