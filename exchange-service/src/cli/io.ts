/**
 * What every command is handed: where it writes and the environment it reads.
 */

/** A command's streams and environment (the process's, or a test's). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}
