/**
 * The one error a command throws for a command line it cannot run.
 */

/** A bad command line: the command prints the message with its usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
