/**
 * What the review action needs from the runner, as one interface: the entry
 * point passes the real one (backed by @actions/core); a test can pass its own.
 */

export interface ReviewRuntime {
  /** Writes text to stdout as it is: workflow commands (`::warning file=…::`) become annotations. */
  print(text: string): void;
  info(message: string): void;
  warning(message: string): void;
  /** Reports the error and makes the step fail (exit code 1). */
  setFailed(message: string): void;
  setOutput(name: string, value: string): void;
  /** Appends Markdown to the job summary (`GITHUB_STEP_SUMMARY`). */
  appendSummary(markdown: string): Promise<void>;
}
