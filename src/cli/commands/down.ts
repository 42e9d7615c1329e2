import type { Command } from '@commander-js/extra-typings';
import { ClusterClient } from '../../cluster/client.js';
import { paxosHome } from '../../cluster/home.js';
import { isProcessAlive, readRecord } from '../../cluster/record.js';

/**
 * Stops the cluster. Nothing running is not an error: `down` wants the
 * cluster gone and it is (a script can run it unconditionally); a record
 * whose processes died is cleaned up the same way `status` would.
 */
export function registerDown(program: Command): void {
  program.command('down').description('stop every replica and the orchestrator; the data stays until the next `up`. Nothing running is not an error')
    .option('--json', 'print {"stopped":true,"clusterSize":3} ({"stopped":false} when nothing was running)')
    .action(async (opts) => {
      const say = (human: string, data: unknown) => process.stdout.write(opts.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
      const home = paxosHome();
      const record = readRecord(home);
      if (record === null) {
        say('no cluster is running; nothing to stop', { stopped: false, clusterSize: null });
        return;
      }
      if (!isProcessAlive(record.orchestratorPid)) {
        // connect() removes the stale record (and says so in the error we do not need).
        await ClusterClient.connect(home).then((c) => c.close(), () => undefined);
        say(`the cluster recorded in ${home} was already gone (orchestrator pid ${record.orchestratorPid}); removed its stale record`, { stopped: false, clusterSize: record.clusterSize, staleRecordRemoved: true });
        return;
      }
      const cluster = await ClusterClient.connect(home);
      const pid = cluster.record.orchestratorPid;
      await cluster.down();
      cluster.close();
      const deadline = Date.now() + 10_000;
      while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      say(`stopped the cluster of ${cluster.record.clusterSize} replicas`, { stopped: true, clusterSize: cluster.record.clusterSize, orchestratorPid: pid });
    });
}
