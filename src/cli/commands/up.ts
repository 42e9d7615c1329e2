import { resolve } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import { paxosHome } from '../../cluster/home.js';
import { loadTemplate, templateNames } from '../../cluster/templates.js';
import { UsageError } from '../../errors.js';
import { didYouMean, parseIntFlag, parseProtocol } from '../parse.js';

function templateFlag(raw: string): string {
  const names = templateNames();
  if (!names.includes(raw))
    throw new UsageError(
      `there is no template "${raw}"; the templates are ${names.join(', ')}${didYouMean(raw, names)}`,
    );
  return raw;
}

export function registerUp(program: Command, setExit: (code: number) => void): void {
  program
    .command('up')
    .description(
      'start a cluster of real replica processes on 127.0.0.1 and watch it (a dashboard on a terminal, one line per event otherwise)',
    )
    .option(
      '-n, --nodes <count>',
      "number of replicas, 1-15 (default: the data's when resuming, else 5 or the template's)",
      parseIntFlag('-n', 1, 15),
    )
    .option(
      '--protocol <name>',
      "multi (a replicated log) or basic (one single-decree instance per key) (default: the data's when resuming, else multi or the template's)",
      parseProtocol,
    )
    .option(
      '--template <name>',
      `start from a cluster profile in templates/: ${templateNames().join(', ')}; flags given here win`,
      templateFlag,
    )
    .option(
      '--base-port <port>',
      'node-N listens on this port + N instead of a free ephemeral one',
      parseIntFlag('--base-port', 1024, 65000),
    )
    .option(
      '--snapshot-every <slots>',
      "snapshot and compact each replica's log after this many slots (Multi) or learned keys (Basic)",
      parseIntFlag('--snapshot-every', 1, 100_000_000),
      10_000,
    )
    .option(
      '--fresh',
      'delete the cluster data in $PAXOS_HOME/data first and start an empty cluster (without it, `up` resumes the cluster whose data is there)',
    )
    .option('--detach', 'leave the cluster running in the background and return')
    .option('--plain', 'print one line per event even on a terminal')
    .option(
      '--trace <file>',
      'record the run: each replica writes its messages, writes and choices to <file>.parts/, merged into <file> by `paxos down` (draw it with `paxos trace <file> --svg run.svg`)',
    )
    .option(
      '--step',
      'step mode: every message between replicas is held until `paxos deliver` (or `paxos drop`), and time moves only on `paxos tick`; see them with `paxos held`',
    )
    .option(
      '--json',
      'with --detach: print the started cluster as JSON ({"clusterSize":3,"protocol":"multi","orchestratorPid":…,"resumed":false,"chosen":null,"replicas":[…]})',
    )
    .addOption(new Option('--daemon', 'run as the detached orchestrator (used by --detach)').default(false).hideHelp())
    .action(async (opts, cmd) => runUpAction(opts, cmd.getOptionValueSource('json') === 'cli', setExit));
  // The -n range check happens in the parser, so `up -n 0` and `up -n 1000` fail with one sentence before anything starts.
}

/** The flags of `paxos up`, as commander parses them. */
interface UpFlags {
  readonly nodes?: number;
  readonly protocol?: 'multi' | 'basic';
  readonly template?: string;
  readonly basePort?: number;
  readonly snapshotEvery: number;
  readonly fresh?: true;
  readonly detach?: true;
  readonly plain?: true;
  readonly trace?: string;
  readonly step?: true;
  readonly json?: true;
  readonly daemon: boolean;
}

/** Starts (or resumes) the cluster; `jsonTyped` says --json was typed on the command line rather than taken from PAXOS_JSON. */
async function runUpAction(opts: UpFlags, jsonTyped: boolean, setExit: (code: number) => void): Promise<void> {
  // The background orchestrator inherits the environment; PAXOS_DETACH there must not make it detach again.
  const detach = opts.detach === true && !opts.daemon;
  const json = opts.json === true && !opts.daemon && detach;
  // PAXOS_JSON=1 exported for the other commands does not stop a foreground `up`; --json typed without --detach is refused.
  if (opts.json === true && !opts.daemon && !detach && jsonTyped)
    throw new UsageError(
      'up --json needs --detach: a cluster in the foreground prints events, not one result; use `paxos status --json`',
    );
  const [{ runUp }, { readRecord }] = await Promise.all([
    import('../services/up.js'),
    import('../../cluster/record.js'),
  ]);
  const template = opts.template === undefined ? undefined : loadTemplate(opts.template);
  const home = paxosHome();
  // Size and protocol left unsaid come from the data when it is resumed; the defaults (5, multi) apply to a new cluster only.
  const nodes = opts.nodes ?? template?.nodes;
  const protocol = opts.protocol ?? template?.protocol;
  setExit(
    await runUp({
      home,
      ...(nodes !== undefined ? { nodes } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      fresh: opts.fresh === true,
      detach,
      daemon: opts.daemon,
      ...(template ? { template } : {}),
      dashboard: !opts.daemon && !opts.plain && process.stdout.isTTY === true && process.stdin.isTTY === true,
      ...(opts.basePort !== undefined ? { basePort: opts.basePort } : {}),
      snapshotEverySlots: opts.snapshotEvery,
      // Absolute: the detached orchestrator and the replicas need not share the caller's working directory.
      ...(opts.trace !== undefined ? { traceFile: resolve(opts.trace) } : {}),
      step: opts.step === true,
      out: json ? () => undefined : (line) => process.stdout.write(`${line}\n`),
    }),
  );
  if (json) {
    const r = readRecord(home);
    if (r !== null) {
      process.stdout.write(
        `${JSON.stringify({
          home,
          clusterSize: r.clusterSize,
          protocol: r.protocol,
          host: r.host,
          orchestratorPid: r.orchestratorPid,
          startedAtMs: r.startedAtMs,
          replicas: r.replicas,
          clusterId: r.clusterId ?? null,
          resumed: r.resumed === true,
          chosen: r.resumed === true ? (r.chosenAtStart ?? 0) : null,
          step: r.step === true,
        })}\n`,
      );
    }
  }
}
