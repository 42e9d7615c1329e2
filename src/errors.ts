/**
 * The two kinds of failure a command reports. Both end in one sentence on
 * stderr; the exit code tells scripts which kind it was. Anything else that
 * escapes a command is a bug and is printed with its stack.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Something in the world is not as the command needs it: no cluster, a dead node, a busy port, a timeout. */
export class OperatingError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * A client command that did not succeed, with what the client can know about
 * it: `refused` (it did not take effect and never will: exit 1) or `unknown`
 * (it may still be chosen: exit 3, so scripts can tell the two apart).
 */
export class OutcomeError extends OperatingError {
  constructor(
    message: string,
    readonly outcome: 'refused' | 'unknown',
    readonly code: string,
    readonly node: number | null,
  ) {
    super(message, outcome === 'unknown' ? UNKNOWN_OUTCOME_EXIT : 1);
  }
}

/** The exit code of a command whose outcome is unknown. */
export const UNKNOWN_OUTCOME_EXIT = 3;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof OperatingError) return err.exitCode;
  return 70;
}

export function describeError(err: unknown): string {
  if (err instanceof UsageError || err instanceof OperatingError) return `paxos: ${err.message}`;
  return `paxos: internal error (this is a bug): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}
