import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { checkPrivateDirIfPresent, logFileOf, paxosHome } from '../../cluster/home.js';
import type { ClusterRecord } from '../../cluster/record.js';
import { parseIntFlag, parseNodeName } from '../parse.js';

// The formatting helpers live with the service; they are re-exported for the code and tests that import them from here.
export { jsonLines, printable } from '../services/logs.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print one replica's log; -f keeps following it")
    .argument('<node>', 'node-2 or 2')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--lines <count>', 'how many of the last lines to print first', parseIntFlag('--lines', 1, 1_000_000), 50)
    .option('--json', 'print one JSON object per line: {"node":2,"time":"2026-…Z","text":"…"}')
    .action(async (name, opts) => {
      const [{ readRecord }, { runLogs }] = await Promise.all([
        import('../../cluster/record.js'),
        import('../services/logs.js'),
      ]);
      const home = paxosHome();
      // Without a running cluster the logs of the last one are still worth reading.
      const record = readRecord(home);
      checkPrivateDirIfPresent(join(home, 'logs'));
      await runLogs({
        home,
        node: logNode(home, name, record),
        clusterRunning: record !== null,
        lines: opts.lines,
        json: opts.json === true,
        out: (text) => {
          if (text !== '') process.stdout.write(text);
        },
        ...(opts.follow
          ? {
              followUntil: new Promise<void>((resolve) => {
                process.once('SIGINT', () => resolve());
              }),
            }
          : {}),
      });
    });
}

/** A running cluster's members, or any replica that left a log: a removed one's log still explains what it did. */
function logNode(home: string, name: string, record: ClusterRecord | null): number {
  const id = parseNodeName(name);
  if (record === null || existsSync(logFileOf(home, id))) return id;
  return parseNodeName(
    name,
    record.replicas.map((r) => r.id),
  );
}
