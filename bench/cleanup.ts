/**
 * Clean-up for the benchmark: child processes and temporary folders are
 * registered as they are created and released in reverse order at the end,
 * on an error, or on Ctrl-C / SIGTERM.
 */

/** A stack of release steps. */
export interface Cleanup {
  /** Registers a step; the returned function unregisters it (when it was released early). */
  add(name: string, release: () => Promise<void> | void): () => void;
  /** Runs every registered step once, newest first; failures are reported, not thrown. */
  run(): Promise<void>;
}

/** Creates an empty clean-up stack. */
export function createCleanup(report: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Cleanup {
  const steps: { name: string; release: () => Promise<void> | void }[] = [];
  return {
    add(name, release) {
      const step = { name, release };
      steps.push(step);
      return () => {
        const at = steps.indexOf(step);
        if (at >= 0) steps.splice(at, 1);
      };
    },
    async run() {
      for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
        try {
          await step.release();
        } catch (error) {
          report(`clean-up of ${step.name} failed: ${(error as Error).message}`);
        }
      }
    },
  };
}

/** On SIGINT or SIGTERM: runs the clean-up and exits 130 (a second signal exits at once). */
export function cleanUpOnSignals(cleanup: Cleanup): void {
  const handler = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping child processes and removing temporary files…\n`);
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(130));
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
