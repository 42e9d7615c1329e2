import type { Command } from 'commander';
import { parseDurationMs, parseNodeName } from '../parse.js';
import { describeResult, parseAssignment, runClientCommand } from '../services/propose.js';

export function registerPropose(program: Command): void {
  program
    .command('propose')
    .description('propose key=value and wait until a value is chosen; prints what was chosen, where, at which ballot, after how many round trips')
    .argument('<key=value>', 'for example x=7')
    .option('--via <node>', 'ask this replica (default: the leader, else the first replica up)', (v) => parseNodeName(v))
    .option('--timeout <duration>', 'give up after this long', parseDurationMs('--timeout'), 5000)
    .option('--json', 'print the result as JSON')
    .action(async (assignment: string, opts: { via?: number; timeout: number; json?: boolean }) => {
      const { key, value } = parseAssignment(assignment);
      const r = await runClientCommand({ command: { op: 'propose', key, value }, timeoutMs: opts.timeout, ...(opts.via !== undefined ? { via: opts.via } : {}) });
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${describeResult(r, value)}\n`);
    });
}
