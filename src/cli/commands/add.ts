import type { Command } from '@commander-js/extra-typings';
import { parseDurationMs } from '../parse.js';

export function registerAdd(program: Command): void {
  program
    .command('add')
    .description(
      'add a replica to a running Multi-Paxos cluster: it starts as a learner with a new id, catches up from the voters, then joins them through a config command chosen in the log',
    )
    .option(
      '--timeout <duration>',
      'how long the learner may take to catch up, and the change to be chosen',
      parseDurationMs('--timeout'),
      30_000,
    )
    .option('--json', 'print {"ok":true,"op":"add","node":4,"epoch":1,"fromSlot":58,"voters":[1,2,3,4],"caughtUp":{…}}')
    .action(async (opts) => {
      const [{ printChange }, { runAdd }] = await Promise.all([
        import('../services/membership.js'),
        import('../../cluster/membership-changes.js'),
      ]);
      await printChange(opts.json === true, (report) => runAdd({ timeoutMs: opts.timeout, report }));
    });
}
