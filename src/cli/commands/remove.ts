import type { Command } from '@commander-js/extra-typings';
import { parseDurationMs, parseNodeName } from '../parse.js';

export function registerRemove(program: Command): void {
  program
    .command('remove')
    .description(
      'remove a voter from a running Multi-Paxos cluster: a config command without it is chosen in the log, then the replica is stopped and marked removed (its id is never reused)',
    )
    .argument('<node>', 'node-3 or 3')
    .option('--timeout <duration>', 'how long the change may take to be chosen', parseDurationMs('--timeout'), 10_000)
    .option('--json', 'print {"ok":true,"op":"remove","node":3,"epoch":2,"fromSlot":80,"voters":[1,2,4]}')
    .option(
      '--cluster <file>',
      'replicas on other hosts, no orchestrator: the change is chosen, then you stop the removed replica with its supervisor',
    )
    .action(async (name, opts) => {
      const node = parseNodeName(name);
      if (opts.cluster !== undefined) {
        const [{ printChange }, { runRemoteRemove }] = await Promise.all([
          import('../services/membership.js'),
          import('../services/membership-remote.js'),
        ]);
        const clusterFile = opts.cluster;
        return printChange(opts.json === true, (report) =>
          runRemoteRemove({ clusterFile, node, timeoutMs: opts.timeout, report }),
        );
      }
      const [{ printChange }, { runRemove }] = await Promise.all([
        import('../services/membership.js'),
        import('../../cluster/membership-changes.js'),
      ]);
      await printChange(opts.json === true, (report) => runRemove({ node, timeoutMs: opts.timeout, report }));
    });
}
