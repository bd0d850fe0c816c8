/**
 * `latchkey audit verify [--store URL] [--config FILE] [--checkpoint FILE
 * [--keys DIR | --jwks URL|FILE]]`: recomputes the audit hash chain and,
 * given checkpoints, holds the chain against them.
 *
 * Exit codes: 0 intact; 1 broken, truncated, rewritten below a checkpoint,
 * or a checkpoint whose signature fails (the first bad record is printed as
 * ASCII JSON so no stored text can drive the terminal); 2 for stores, keys
 * or checkpoint files that cannot be read at all.
 */
import { readFile } from 'node:fs/promises';
import { createChainVerifier, type ChainProblem } from '../audit/chain.ts';
import { createCheckpointMatcher, describeCheckpointProblem, type CheckpointMatcher } from '../audit/checkpoint-check.ts';
import { readJwks, readKeysDir, type KeySet } from '../audit/checkpoint-keys.ts';
import { extractCheckpoints, verifyCheckpoint, CheckpointError, type CheckpointClaims } from '../audit/checkpoint.ts';
import { loadConfig } from '../config.ts';
import { CorruptRecordError, type Store } from '../store/store.ts';
import { configFileOf, pickStoreUrl, withStore, type AuditCommandIo, type AuditFlags } from './audit-store.ts';
import { ascii, asciiJson } from './terminal-text.ts';

/** Runs `audit verify` with its parsed flags. */
export async function runVerify(flags: AuditFlags, io: AuditCommandIo): Promise<number> {
  const storeUrl = pickStoreUrl(flags, io);
  let checkpoints: { valid: CheckpointClaims[]; refused: number } | undefined;
  if (flags.checkpoint !== undefined) {
    checkpoints = await readCheckpoints(flags.checkpoint, await pickKeys(flags, io), io);
    if (checkpoints === undefined) return 2;
  }
  const matcher = checkpoints === undefined ? undefined : createCheckpointMatcher(checkpoints.valid);
  const code = await withStore(storeUrl, io, 'verify', (store) => walkChain(store, io, matcher));
  return code === 0 && checkpoints !== undefined && checkpoints.refused > 0 ? 1 : code;
}

/** --keys DIR, else --jwks, else the config's signing.keys_dir. */
async function pickKeys(flags: AuditFlags, io: AuditCommandIo): Promise<KeySet> {
  if (flags.keys !== undefined) return readKeysDir(flags.keys);
  if (flags.jwks !== undefined) return readJwks(flags.jwks, io.fetch === undefined ? {} : { fetch: io.fetch });
  const file = configFileOf(flags, io);
  return readKeysDir(loadConfig({ file, env: io.env }).signing.keys_dir);
}

/** Verifies every checkpoint in `file`, printing each one refused; undefined (exit 2) when the file holds none. */
async function readCheckpoints(file: string, keys: KeySet, io: AuditCommandIo): Promise<{ valid: CheckpointClaims[]; refused: number } | undefined> {
  const found = extractCheckpoints(await readFile(file, 'utf8'));
  if (found.length === 0) {
    io.stderr.write(`latchkey audit verify: no checkpoints in ${ascii(file)}\n`);
    return undefined;
  }
  const valid: CheckpointClaims[] = [];
  let refused = 0;
  for (const { line, jws } of found) {
    try {
      valid.push((await verifyCheckpoint(jws, keys)).claims);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      refused += 1;
      io.stdout.write(`checkpoint refused (line ${line} of ${ascii(file)}): ${ascii(error.message)} [${error.code}]\n`);
    }
  }
  return { valid, refused };
}

async function walkChain(store: Store, io: AuditCommandIo, matcher: CheckpointMatcher | undefined): Promise<number> {
  const verifier = createChainVerifier();
  try {
    for await (const record of store.readAudit({ pageSize: 1000 })) {
      const problem = verifier.push(record);
      if (problem !== undefined) {
        reportBroken(io, problem, record, verifier.verdict().count);
        return 1;
      }
      const mismatch = matcher?.push(record);
      if (mismatch !== undefined) {
        io.stdout.write(`${describeCheckpointProblem(mismatch)}\n`);
        return 1;
      }
    }
  } catch (error) {
    if (!(error instanceof CorruptRecordError)) throw error;
    const problem = { seq: error.seq, id: '(unreadable)', problem: error.message.replace(/^audit record seq \d+ /, 'the stored record ') };
    reportBroken(io, problem, error.text, verifier.verdict().count);
    return 1;
  }
  const verdict = verifier.verdict();
  if (!verdict.ok) return 1; // unreachable: push() reported it above
  const truncated = matcher?.finish();
  if (truncated !== undefined) {
    io.stdout.write(`${describeCheckpointProblem(truncated)}\n`);
    return 1;
  }
  io.stdout.write(`audit chain intact: ${verdict.count} records, head ${verdict.head}\n`);
  if (matcher !== undefined) io.stdout.write(`checkpoints: ${matcher.matched()} matched the store\n`);
  return 0;
}

function reportBroken(io: AuditCommandIo, problem: ChainProblem, record: unknown, intact: number): void {
  io.stdout.write(
    `audit chain broken at seq ${problem.seq} (id ${asciiJson(problem.id)}): ${ascii(problem.problem)}\n` +
      `record: ${asciiJson(record)}\n` +
      `${intact} record(s) before it are intact\n`,
  );
}
