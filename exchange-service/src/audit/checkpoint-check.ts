/**
 * Holding the store's chain against verified checkpoints: each checkpoint's
 * seq must be in the store with exactly the checkpoint's hash, and the
 * store must reach the highest checkpointed seq. Fed record by record
 * alongside the chain verifier, so one pass over the log does both.
 */
import type { CheckpointClaims } from './checkpoint.ts';

/** A checkpoint the store contradicts. */
export type CheckpointProblem =
  | { kind: 'mismatch'; checkpoint: CheckpointClaims; storedHash: string }
  | { kind: 'truncated'; checkpoint: CheckpointClaims; endsAt: number };

/** Checks records in seq order against a set of checkpoints. */
export interface CheckpointMatcher {
  /** The next record; returns the problem when a checkpoint at its seq names another hash. */
  push(record: { seq: number; hash: string }): CheckpointProblem | undefined;
  /** After the last record: a checkpoint beyond the store's end means the tail was cut off. */
  finish(): CheckpointProblem | undefined;
  /** Checkpoints matched so far. */
  matched(): number;
}

/** Creates a matcher over `checkpoints` (any order; duplicates allowed). */
export function createCheckpointMatcher(checkpoints: readonly CheckpointClaims[]): CheckpointMatcher {
  const bySeq = new Map<number, CheckpointClaims[]>();
  for (const checkpoint of checkpoints) bySeq.set(checkpoint.seq, [...(bySeq.get(checkpoint.seq) ?? []), checkpoint]);
  const furthest = checkpoints.reduce<CheckpointClaims | undefined>((best, c) => (best === undefined || c.seq > best.seq ? c : best), undefined);
  let matched = 0;
  let lastSeq = 0;
  return {
    push(record) {
      lastSeq = record.seq;
      for (const checkpoint of bySeq.get(record.seq) ?? []) {
        if (checkpoint.hash !== record.hash) return { kind: 'mismatch', checkpoint, storedHash: record.hash };
        matched += 1;
      }
      return undefined;
    },
    finish() {
      if (furthest !== undefined && furthest.seq > lastSeq) return { kind: 'truncated', checkpoint: furthest, endsAt: lastSeq };
      return undefined;
    },
    matched: () => matched,
  };
}

/** One line describing a problem, for people. */
export function describeCheckpointProblem(problem: CheckpointProblem): string {
  const { checkpoint } = problem;
  if (problem.kind === 'truncated') {
    return `truncated: the store ends at seq ${problem.endsAt}, but checkpoint at seq ${checkpoint.seq} (${checkpoint.time}) says the chain reached it`;
  }
  return (
    `checkpoint mismatch at seq ${checkpoint.seq} (${checkpoint.time}): the checkpoint says hash ${checkpoint.hash}, ` +
    `the store holds ${problem.storedHash} (the log was rewritten at or before this record)`
  );
}
