import type { Command } from '@commander-js/extra-typings';
import { paxosHome } from '../../cluster/home.js';
import type { DownResult } from '../services/down.js';

/** The service, loaded when a command runs: `paxos --help` and the other commands do not pay for it. */
async function runDown(...args: Parameters<typeof import('../services/down.js').runDown>): Promise<DownResult> {
  return (await import('../services/down.js')).runDown(...args);
}

function print(json: boolean | undefined, result: DownResult): void {
  process.stdout.write(json === true ? `${JSON.stringify(result.data)}\n` : `${result.lines.join('\n')}\n`);
}

/** Stops the cluster; its data stays for the next `paxos up` unless --wipe deletes it. */
export function registerDown(program: Command): void {
  program
    .command('down')
    .description(
      'stop every replica and the orchestrator; the data stays, and the next `up` resumes from it. Nothing running is not an error',
    )
    .option('--wipe', 'then delete the cluster data in $PAXOS_HOME/data (the logs stay)')
    .option(
      '--json',
      'print {"stopped":true,"clusterSize":3} ({"stopped":false} when nothing was running; "wiped" with --wipe)',
    )
    .action(async (opts) => print(opts.json, await runDown(paxosHome(), { wipe: opts.wipe === true })));
}

/** `paxos reset`: `down --wipe` under the name people look for when they want a clean slate. */
export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('stop the cluster if one is running, then delete its data (the same as `paxos down --wipe`)')
    .option('--json', 'print what was stopped and deleted as JSON, as `paxos down --wipe --json` does')
    .action(async (opts) => print(opts.json, await runDown(paxosHome(), { wipe: true })));
}
