import type { Command } from 'commander';
import { ClusterClient } from '../../cluster/client.js';
import { isProcessAlive } from '../../cluster/record.js';

export function registerDown(program: Command): void {
  program.command('down').description('stop every replica and the orchestrator; the data stays until the next `up`')
    .action(async () => {
      const cluster = await ClusterClient.connect();
      const pid = cluster.record.orchestratorPid;
      await cluster.down();
      cluster.close();
      const deadline = Date.now() + 10_000;
      while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      process.stdout.write(`stopped the cluster of ${cluster.record.clusterSize} replicas\n`);
    });
}
