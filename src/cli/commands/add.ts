import type { Command } from '@commander-js/extra-typings';
import { parseDurationMs, parseNodeName } from '../parse.js';

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
    .option(
      '--cluster <file>',
      'replicas on other hosts, no orchestrator: the new replica runs already (marked "joined" in the cluster file) and is named with --existing',
    )
    .option('--existing <node>', 'with --cluster: the running learner to vote in, node-4 or 4', (v) => parseNodeName(v))
    .action(async (opts) => {
      if (opts.cluster !== undefined) {
        const [{ printChange }, { runRemoteAdd }] = await Promise.all([
          import('../services/membership.js'),
          import('../services/membership-remote.js'),
        ]);
        const clusterFile = opts.cluster;
        return printChange(opts.json === true, (report) =>
          runRemoteAdd({
            clusterFile,
            timeoutMs: opts.timeout,
            report,
            ...(opts.existing !== undefined ? { existing: opts.existing } : {}),
          }),
        );
      }
      const [{ printChange }, { runAdd }] = await Promise.all([
        import('../services/membership.js'),
        import('../../cluster/membership-changes.js'),
      ]);
      await printChange(opts.json === true, (report) => runAdd({ timeoutMs: opts.timeout, report }));
    });
}
