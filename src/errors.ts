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

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof OperatingError) return err.exitCode;
  return 70;
}

export function describeError(err: unknown): string {
  if (err instanceof UsageError || err instanceof OperatingError) return `paxos: ${err.message}`;
  return `paxos: internal error (this is a bug): ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
}
