/**
 * How `paxos add`, `paxos remove` and `paxos replace` print a membership
 * change; the change itself is sequenced in src/cluster/membership-changes.ts,
 * which `paxos check`'s nemesis uses too.
 */
import type { Reporter } from '../../cluster/membership-changes.js';
import { OperatingError, OutcomeError } from '../../errors.js';

/** Prints each step as it happens (not with --json), then the result (one JSON line with --json); a failure with --json prints its JSON too. */
export async function printChange<T>(json: boolean, run: (report: Reporter) => Promise<T>): Promise<void> {
  const report: Reporter = {
    step: (line) => {
      if (!json) process.stdout.write(`${line}\n`);
    },
  };
  try {
    const result = await run(report);
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
  } catch (err) {
    if (json && err instanceof OperatingError) {
      const outcome = err instanceof OutcomeError ? err.outcome : 'refused';
      process.stdout.write(
        `${JSON.stringify({ ok: false, outcome, code: err instanceof OutcomeError ? err.code : 'refused', error: err.message })}\n`,
      );
    }
    throw err;
  }
}
