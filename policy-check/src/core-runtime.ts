/**
 * The real ReviewRuntime: @actions/core, which speaks the runner's file
 * commands (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) and workflow commands on
 * stdout.
 */
import * as core from '@actions/core';
import type { ReviewRuntime } from './runtime.ts';

/** Builds the runtime the bundled entry point uses. */
export function createCoreRuntime(): ReviewRuntime {
  return {
    print: (text) => {
      process.stdout.write(text);
    },
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    setFailed: (message) => core.setFailed(message),
    setOutput: (name, value) => core.setOutput(name, value),
    appendSummary: async (markdown) => {
      await core.summary.addRaw(markdown, true).write();
    },
  };
}
