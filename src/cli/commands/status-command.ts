/**
 * `paxos status`, registered apart from its rendering (status.ts): that needs
 * the cluster client and the membership service, which `paxos --help` and the
 * other commands should not load.
 */
import type { Command } from '@commander-js/extra-typings';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'show every replica: up, paused or down, voter, learner or removed, role, promised and accepted ballots, chosen count, traffic',
    )
    .option('--json', 'print the status as JSON')
    .option(
      '--cluster <file>',
      'a cluster on other hosts, described by a cluster file: each member is asked directly, no orchestrator',
    )
    .action(async (opts) => {
      const { printRemoteStatus, runStatus } = await import('./status.js');
      if (opts.cluster !== undefined) return printRemoteStatus(opts.cluster, opts.json === true);
      await runStatus(opts.json === true);
    });
}
