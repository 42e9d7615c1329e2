import { Option, type Command } from 'commander';
import { paxosHome } from '../../cluster/home.js';
import { loadTemplate, templateNames } from '../../cluster/templates.js';
import { parseIntFlag, parseProtocol } from '../parse.js';
import { runUp } from '../services/up.js';

export function registerUp(program: Command, setExit: (code: number) => void): void {
  program
    .command('up')
    .description('start a cluster of real replica processes on 127.0.0.1 and watch it (a dashboard on a terminal, one line per event otherwise)')
    .option('-n, --nodes <count>', 'number of replicas, 1-15 (default 5)', parseIntFlag('-n', 1, 15))
    .option('--protocol <name>', 'multi (a replicated log, the default) or basic (one single-decree instance per key)', parseProtocol)
    .option('--template <name>', `start from a cluster profile in templates/: ${templateNames().join(', ')}; flags given here win`)
    .option('--base-port <port>', 'listen on consecutive ports from here instead of free ephemeral ones', parseIntFlag('--base-port', 1024, 65000))
    .option('--detach', 'leave the cluster running in the background and return')
    .option('--plain', 'print one line per event even on a terminal')
    .addOption(new Option('--daemon', 'run as the detached orchestrator (used by --detach)').default(false).hideHelp())
    .action(async (opts: { nodes?: number; protocol?: 'multi' | 'basic'; template?: string; basePort?: number; detach?: boolean; plain?: boolean; daemon: boolean }) => {
      const template = opts.template === undefined ? undefined : loadTemplate(opts.template);
      setExit(await runUp({
        home: paxosHome(), clusterSize: opts.nodes ?? template?.nodes ?? 5, protocol: opts.protocol ?? template?.protocol ?? 'multi',
        detach: opts.detach === true, daemon: opts.daemon, ...(template ? { template } : {}),
        dashboard: !opts.daemon && !opts.plain && process.stdout.isTTY === true && process.stdin.isTTY === true,
        ...(opts.basePort !== undefined ? { basePort: opts.basePort } : {}),
        out: (line) => process.stdout.write(`${line}\n`),
      }));
    });
  // The -n range check happens in the parser, so `up -n 0` and `up -n 1000` fail with one sentence before anything starts.
}
