import type { Command } from '@commander-js/extra-typings';
import { nodeName } from '../../core/types.js';
import { parseNodeName } from '../parse.js';

/**
 * `paxos recover node-2`: a down replica whose data was lost or damaged (it
 * refused to start, naming the damage) starts again on a fresh directory,
 * its old data kept aside, and earns its vote back (Multi-Paxos).
 */
export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      'start a down replica whose data was lost or damaged on a fresh directory (its old data is kept aside as node-N.lost-TIME): it learns the log and votes again once the cluster re-admitted it, so nothing it forgot can count (Multi-Paxos)',
    )
    .argument('<node>', 'node-2 or 2')
    .option('--json', 'print {"node":2,"up":true,"recovering":true}')
    .action(async (name, opts) => {
      const node = parseNodeName(name);
      const { withCluster } = await import('../../cluster/client.js');
      await withCluster(async (c) => {
        await c.recover(node);
        process.stdout.write(
          opts.json === true
            ? `${JSON.stringify({ node, up: true, recovering: true })}\n`
            : `${nodeName(node)} is up on a fresh data directory, recovering: it votes again once re-admitted (see paxos logs ${nodeName(node)})\n`,
        );
      });
    });
}
