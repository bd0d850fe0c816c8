/**
 * What the Action needs from the runner, as one interface: the entry points
 * pass the real one (backed by @actions/core), tests pass a recording one.
 */

export interface ActionRuntime {
  /** A fresh OIDC token for `audience` (masked by the toolkit as it arrives). */
  getIDToken(audience: string): Promise<string>;
  /** Masks a value in every later log line (`::add-mask::`). */
  setSecret(value: string): void;
  /** Sets a variable for the later steps of the job (`GITHUB_ENV`). */
  exportVariable(name: string, value: string): void;
  setOutput(name: string, value: string): void;
  /** Keeps a value for the post step (`GITHUB_STATE`); never a secret. */
  saveState(name: string, value: string): void;
  getState(name: string): string;
  info(message: string): void;
  warning(message: string): void;
  /** Reports the error and makes the step fail. */
  setFailed(message: string): void;
  /** Appends Markdown to the job summary (`GITHUB_STEP_SUMMARY`). */
  appendSummary(markdown: string): Promise<void>;
}
