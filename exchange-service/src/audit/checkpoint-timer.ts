/**
 * The service's checkpoint emitter (SPEC §5): every `audit.checkpoint_interval`
 * it reads the chain head and, when the head moved since the last
 * checkpoint, signs one and emits it (a log line, and a line in
 * `audit.checkpoint_file` when set); once more when the service stops.
 *
 * Before signing it checks that the last checkpointed record is still in
 * the store unchanged: a chain cut back or rewritten below it is logged as
 * an error and never signed over.
 */
import { appendFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import type { SigningKey } from '../jws/signing-keys.ts';
import { signCheckpoint, type CheckpointClaims } from './checkpoint.ts';
import { readChainHead, readHashAt, type AuditReader, type ChainHead } from './checkpoint-head.ts';

/** A checkpoint as emitted: the JWS and what it says. */
export interface EmittedCheckpoint {
  jws: string;
  claims: CheckpointClaims;
}

/** The interval functions the timer uses (Node's by default). */
export interface IntervalTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface CheckpointTimerOptions {
  store: AuditReader;
  /** Seconds between checks; 0: none (tick() and stop() still work). */
  intervalSeconds: number;
  /** Signs the claims; resolves to the JWS. */
  sign: (claims: CheckpointClaims) => Promise<string>;
  /** Publishes a signed checkpoint. */
  emit: (checkpoint: EmittedCheckpoint) => Promise<void>;
  /** Wall clock, ms. */
  now: () => number;
  logger: Logger;
  issuer?: string | undefined;
  policySetVersion?: (() => string | null) | undefined;
  timers?: IntervalTimers | undefined;
}

export interface CheckpointTimer {
  /** Starts the periodic checks (a no-op when the interval is 0). */
  start(): void;
  /** Checks now; resolves to the checkpoint emitted, if the head moved. Never rejects (problems are logged). */
  tick(): Promise<EmittedCheckpoint | undefined>;
  /** Stops the checks and emits a last checkpoint if the head moved; later calls do nothing. */
  stop(): Promise<EmittedCheckpoint | undefined>;
}

const NODE_TIMERS: IntervalTimers = {
  setInterval(callback, ms) {
    const handle = setInterval(callback, ms);
    handle.unref(); // a pending checkpoint must not keep a stopping process alive
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/** Creates the emitter; call start() to begin and stop() before closing the store. */
export function createCheckpointTimer(options: CheckpointTimerOptions): CheckpointTimer {
  const timers = options.timers ?? NODE_TIMERS;
  let last: ChainHead | undefined;
  let seen: ChainHead | undefined;
  let running: Promise<EmittedCheckpoint | undefined> = Promise.resolve(undefined);
  let handle: unknown;
  let stopped = false;

  const check = async (): Promise<EmittedCheckpoint | undefined> => {
    const head = await readChainHead(options.store, seen);
    seen = head;
    if (head === undefined || (last !== undefined && head.seq === last.seq && head.hash === last.hash)) return undefined;
    if (last !== undefined && (await readHashAt(options.store, last.seq)) !== last.hash) {
      options.logger.error('audit chain changed below the last checkpoint: not signing', {
        checkpoint_seq: last.seq,
        checkpoint_hash: last.hash,
        head_seq: head.seq,
      });
      return undefined;
    }
    const claims: CheckpointClaims = {
      seq: head.seq,
      hash: head.hash,
      time: new Date(options.now()).toISOString(),
      ...(options.issuer === undefined ? {} : { iss: options.issuer }),
      ...(options.policySetVersion === undefined ? {} : { policy_set_version: options.policySetVersion() }),
    };
    const checkpoint = { jws: await options.sign(claims), claims };
    last = head;
    await options.emit(checkpoint);
    return checkpoint;
  };
  // One check at a time, in order; a failure is logged and the next check tries again.
  const tick = (): Promise<EmittedCheckpoint | undefined> => {
    running = running.then(check).catch((error: unknown) => {
      options.logger.warn('audit checkpoint failed', { error });
      return undefined;
    });
    return running;
  };
  return {
    start() {
      if (stopped || handle !== undefined || options.intervalSeconds <= 0) return;
      handle = timers.setInterval(() => void tick(), options.intervalSeconds * 1000);
    },
    tick,
    async stop() {
      if (stopped) return undefined;
      stopped = true;
      if (handle !== undefined) timers.clearInterval(handle);
      return tick();
    },
  };
}

export interface CheckpointSinkOptions {
  logger: Logger;
  /** `audit.checkpoint_file`: each checkpoint appended as one line (its folder must exist). */
  file?: string | undefined;
}

/**
 * Publishes checkpoints as `{"msg":"audit checkpoint","checkpoint":…}` log
 * lines and, when configured, appends the JWS to a file. A file that cannot
 * be written is logged; the log line has gone out anyway.
 */
export function createCheckpointSink(options: CheckpointSinkOptions): (checkpoint: EmittedCheckpoint) => Promise<void> {
  return async ({ jws, claims }) => {
    options.logger.info('audit checkpoint', { checkpoint: jws, seq: claims.seq, hash: claims.hash });
    if (options.file === undefined) return;
    try {
      // No folder is created: the file is meant to sit somewhere the operator chose and ships off the host.
      await appendFile(options.file, `${jws}\n`);
    } catch (error) {
      options.logger.error('audit checkpoint not written to the checkpoint file', { file: options.file, error });
    }
  };
}

export interface AuditCheckpointsOptions {
  store: AuditReader;
  /** The config's `audit` section. */
  audit: { checkpoint_interval: number; checkpoint_file?: string | undefined };
  /** The key to sign with (a function: a rotated key needs no restart). */
  signingKey: () => SigningKey;
  issuer: string;
  policySetVersion: () => string | null;
  logger: Logger;
  now: () => number;
}

/** What `audit.checkpoint_interval: 0` gives: no checkpoints at all, not even at shutdown. */
const DISABLED: CheckpointTimer = { start: () => {}, tick: async () => undefined, stop: async () => undefined };

/** Builds and starts the service's checkpoint emitter from its config (server.ts). */
export function startAuditCheckpoints(options: AuditCheckpointsOptions): CheckpointTimer {
  if (options.audit.checkpoint_interval <= 0) return DISABLED;
  const timer = createCheckpointTimer({
    store: options.store,
    intervalSeconds: options.audit.checkpoint_interval,
    sign: (claims) => signCheckpoint(options.signingKey(), claims),
    emit: createCheckpointSink({ logger: options.logger, file: options.audit.checkpoint_file }),
    now: options.now,
    logger: options.logger,
    issuer: options.issuer,
    policySetVersion: options.policySetVersion,
  });
  timer.start();
  return timer;
}
