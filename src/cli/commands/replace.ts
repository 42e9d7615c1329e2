import type { Command } from '@commander-js/extra-typings';
import { parseDurationMs, parseNodeName } from '../parse.js';

export function registerReplace(program: Command): void {
  program
    .command('replace')
    .description(
      'replace a voter whose disk is gone: remove it, then add a fresh replica with a new id (a wiped replica never rejoins under its old one)',
    )
    .argument('<node>', 'node-3 or 3')
    .option(
      '--timeout <duration>',
      'how long each step (the removal, the catch-up, the addition) may take',
      parseDurationMs('--timeout'),
      30_000,
    )
    .option('--json', 'print {"ok":true,"op":"replace","removed":{…},"added":{…}}')
    .option(
      '--cluster <file>',
      'replicas on other hosts, no orchestrator: the fresh replica runs already (marked "joined" in the cluster file) and is named with --existing',
    )
    .option('--existing <node>', 'with --cluster: the fresh learner that takes its place, node-5 or 5', (v) =>
      parseNodeName(v),
    )
    .action(async (name, opts) => {
      const node = parseNodeName(name);
      if (opts.cluster !== undefined) {
        const [{ printChange }, { runRemoteReplace }] = await Promise.all([
          import('../services/membership.js'),
          import('../services/membership-remote.js'),
        ]);
        const clusterFile = opts.cluster;
        return printChange(opts.json === true, (report) =>
          runRemoteReplace({
            clusterFile,
            node,
            timeoutMs: opts.timeout,
            report,
            ...(opts.existing !== undefined ? { existing: opts.existing } : {}),
          }),
        );
      }
      const [{ printChange }, { runReplace }] = await Promise.all([
        import('../services/membership.js'),
        import('../../cluster/membership-changes.js'),
      ]);
      await printChange(opts.json === true, (report) => runReplace({ node, timeoutMs: opts.timeout, report }));
    });
}
