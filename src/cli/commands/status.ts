import type { Command } from '@commander-js/extra-typings';
import { ClusterClient } from '../../cluster/client.js';
import type { ClusterStatus } from '../../cluster/orchestrator.js';
import { formatBallot } from '../../core/ballot.js';
import { showText } from '../../text/escape.js';
import { describeFaults } from '../format.js';

export function registerStatus(program: Command): void {
  program.command('status').description('show every replica: up, paused or down, role, promised and accepted ballots, chosen count, traffic')
    .option('--json', 'print the status as JSON')
    .action(async (opts) => {
      const cluster = await ClusterClient.connect();
      try {
        const status = await cluster.status();
        process.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : `${renderStatus(status)}\n`);
      } finally {
        cluster.close();
      }
    });
}

/** The status table as `paxos status` prints it; `--json` bypasses it and keeps keys and values raw. */
export function renderStatus(s: ClusterStatus): string {
  const f = s.faults;
  const head = `${s.clusterSize} replicas, ${s.protocol} paxos, orchestrator pid ${s.orchestratorPid}; network: ${describeFaults({ partition: f.partition ?? null, delayMs: f.delayMs ?? null, dropRate: f.dropRate ?? 0 })}`;
  const rows = [['NODE', 'STATE', 'ROLE', 'PROMISED', 'LAST ACCEPTED', 'CHOSEN', 'MSGS IN/OUT', 'PID', 'PORT']];
  for (const r of s.replicas) {
    const v = r.status?.view;
    // The instance (a key in basic mode) and the value are user text: escaped first, so the cut is on what is shown.
    const acc = v?.lastAccepted ? `${/^\d+$/.test(v.lastAccepted.instance) ? '#' : ''}${showText(v.lastAccepted.instance)} (${formatBallot(v.lastAccepted.ballot)}, ${truncate(showText(v.lastAccepted.value), 16)})` : '-';
    rows.push([
      `node-${r.id}`, stateOf(r), v?.role ?? '-', v ? formatBallot(v.promised) : '-', acc,
      v ? String(v.chosenCount) : '-', r.status ? `${r.status.messagesIn}/${r.status.messagesOut}` : '-', r.pid === null ? '-' : String(r.pid), String(r.port),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return [head, ...rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())].join('\n');
}

/** Paused comes first: a frozen replica answers nobody, whatever side of a partition it is on. */
function stateOf(r: ClusterStatus['replicas'][number]): string {
  if (!r.up) return 'down';
  if (r.paused === true) return 'paused';
  return r.isolated ? 'isolated' : 'up';
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
