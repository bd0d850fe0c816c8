/**
 * The real ActionRuntime: @actions/core, which speaks the runner's file
 * commands (`GITHUB_ENV`, `GITHUB_OUTPUT`, `GITHUB_STATE`,
 * `GITHUB_STEP_SUMMARY`) and workflow commands on stdout.
 */
import * as core from '@actions/core';
import type { ActionRuntime } from './runtime.ts';

/** Builds the runtime the bundled entry points use. */
export function createCoreRuntime(): ActionRuntime {
  return {
    getIDToken: (audience) => core.getIDToken(audience),
    setSecret: (value) => core.setSecret(value),
    exportVariable: (name, value) => core.exportVariable(name, value),
    setOutput: (name, value) => core.setOutput(name, value),
    saveState: (name, value) => core.saveState(name, value),
    getState: (name) => core.getState(name),
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    setFailed: (message) => core.setFailed(message),
    appendSummary: async (markdown) => {
      await core.summary.addRaw(markdown, true).write();
    },
  };
}
