/** kill, restart, partition, heal and net: the commands that break and mend the cluster. */
import type { Command } from 'commander';
import { ClusterClient } from '../../cluster/client.js';
import { parseDelay, parseDrop } from '../../transport/faults.js';
import { UsageError } from '../../errors.js';
import { parseNodeName } from '../parse.js';

async function withCluster<T>(fn: (c: ClusterClient) => Promise<T>): Promise<T> {
  const cluster = await ClusterClient.connect();
  try {
    return await fn(cluster);
  } finally {
    cluster.close();
  }
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function registerFaults(program: Command): void {
  program.command('kill').description('crash a replica for real (SIGKILL); its data stays on disk').argument('<node>', 'node-2 or 2')
    .action(async (name: string) => withCluster(async (c) => {
      const id = parseNodeName(name, c.record.clusterSize);
      await c.kill(id);
      process.stdout.write(`killed node-${id} (SIGKILL)\n`);
    }));
  program.command('restart').description('start a killed replica again from its data on disk').argument('<node>', 'node-2 or 2')
    .action(async (name: string) => withCluster(async (c) => {
      const id = parseNodeName(name, c.record.clusterSize);
      await c.restart(id);
      process.stdout.write(`restarted node-${id} from its data\n`);
    }));
  program.command('partition').description('cut the network into groups that cannot talk to each other, e.g. node-1,node-2 node-3,node-4,node-5')
    .argument('<groups...>', 'comma-separated replicas per group; replicas left out form one more group')
    .action(async (groups: string[]) => withCluster(async (c) => {
      const parsed = groups.map((g) => g.split(',').filter((x) => x !== '').map((x) => parseNodeName(x, c.record.clusterSize)));
      await c.partition(parsed);
      process.stdout.write(`partitioned: ${parsed.map((g) => `{${g.map((n) => `node-${n}`).join(',')}}`).join(' | ')}\n`);
    }));
  program.command('heal').description('remove the partition').action(async () => withCluster(async (c) => {
    await c.heal();
    process.stdout.write('healed: every replica can reach every other\n');
  }));
  program.command('net').description('random delay and loss between replicas (the 003 article\'s random delays)')
    .option('--delay <range>', 'for example 10-200ms, or 0 for none')
    .option('--drop <percent>', 'for example 5%, or 0 for none')
    .action(async (opts: { delay?: string; drop?: string }) => {
      if (opts.delay === undefined && opts.drop === undefined) throw new UsageError('net needs --delay, --drop or both, for example: paxos net --delay 10-200ms --drop 5%');
      const delayMs = opts.delay === undefined ? undefined : opts.delay === '0' ? null : usage(() => parseDelay(opts.delay!));
      const dropRate = opts.drop === undefined ? undefined : usage(() => parseDrop(opts.drop!));
      await withCluster((c) => c.net({ ...(delayMs !== undefined ? { delayMs } : {}), ...(dropRate !== undefined ? { dropRate } : {}) }));
      process.stdout.write(`network: ${delayMs ? `delay ${delayMs.min}-${delayMs.max}ms` : delayMs === null ? 'no delay' : ''}${dropRate !== undefined ? ` drop ${Math.round(dropRate * 1000) / 10}%` : ''}\n`.replace(': ', ': ').trimStart());
    });
}
