import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import { NEMESIS_KINDS, type NemesisKind, parseNemesis } from '../../check/nemesis.js';
import { readClusterFile } from '../../cluster/cluster-file.js';
import { paxosHome } from '../../cluster/home.js';
import { UsageError } from '../../errors.js';
import { parseDurationMs, parseIntFlag, parseProtocol } from '../parse.js';

const PLANTS = ['ack-before-fsync', 'stale-reads', 'quorum-minus-one', 'restart-numbering', 'amnesia'];

function nemesisFlag(raw: string): NemesisKind[] {
  try {
    return parseNemesis(raw);
  } catch (err) {
    throw new UsageError(`--nemesis: ${(err as Error).message}`);
  }
}

function plantFlag(raw: string): string {
  if (!PLANTS.includes(raw)) throw new UsageError(`--plant must be one of ${PLANTS.join(', ')}`);
  return raw;
}

export function registerCheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('check')
    .description(
      'a Jepsen-style test of real replicas: concurrent clients, a seeded nemesis, a recorded history, linearizability, agreement and durability checks, and a timeline you can open. Exit 0: pass; 1: a violation; 3: undecided',
    )
    .option('-n, --nodes <count>', 'replicas (when it starts its own cluster)', parseIntFlag('-n', 1, 15), 5)
    .option('--protocol <name>', 'multi or basic', parseProtocol, 'multi')
    .option('--time <duration>', 'how long the clients and the nemesis run', parseDurationMs('--time'), 60_000)
    .option(
      '--clients <count>',
      'concurrent clients, one operation in flight each',
      parseIntFlag('--clients', 1, 256),
      8,
    )
    .option(
      '--keys <count>',
      'keys the clients read and write (Basic Paxos: 40 times as many write-once keys)',
      parseIntFlag('--keys', 1, 10_000),
      5,
    )
    .option('--nemesis <list>', `faults, comma-separated, or none: ${NEMESIS_KINDS.join(',')}`, nemesisFlag, [
      ...NEMESIS_KINDS,
    ])
    .option(
      '--seed <n>',
      'the nemesis schedule and the workload come from this seed (default: random, printed)',
      parseIntFlag('--seed', 0, 2 ** 31),
    )
    .option('--out <dir>', 'results folder (default: $PAXOS_HOME/checks/<time>)')
    .option('--attach', 'test the cluster running in $PAXOS_HOME instead of starting one')
    .option(
      '--cluster <file>',
      'test replicas on other hosts, described by a cluster file, through their admin API (its admin token): kill is crash (their supervisor restarts them), pause is freeze, partitions expire on their own; it neither starts nor stops them',
    )
    .option(
      '--op-timeout <duration>',
      'how long a replica keeps trying one operation',
      parseDurationMs('--op-timeout'),
      1000,
    )
    .option(
      '--check-budget <duration>',
      'time the linearizability search may take before it says "unknown"',
      parseDurationMs('--check-budget'),
      60_000,
    )
    .option('--json', 'print results.json')
    .addOption(
      new Option('--plant <bug>', 'start the replicas with a planted bug, to show the check catches it')
        .argParser(plantFlag)
        .hideHelp(),
    )
    .action(async (f) => runCheck(f, setExit));
}

/** The flags of `paxos check`, as commander parses them. */
interface CheckFlags {
  readonly nodes: number;
  readonly protocol: 'multi' | 'basic';
  readonly time: number;
  readonly clients: number;
  readonly keys: number;
  readonly nemesis: NemesisKind[];
  readonly seed?: number;
  readonly out?: string;
  readonly attach?: true;
  readonly cluster?: string;
  readonly opTimeout: number;
  readonly checkBudget: number;
  readonly json?: true;
  readonly plant?: string;
}

async function runCheck(f: CheckFlags, setExit: (code: number) => void): Promise<void> {
  if (f.attach && f.plant !== undefined)
    throw new UsageError('--plant starts a cluster of its own; it cannot be combined with --attach');
  if (f.cluster !== undefined && (f.attach === true || f.plant !== undefined))
    throw new UsageError(
      '--cluster tests replicas that run elsewhere; it cannot be combined with --attach or --plant (start those replicas with PAXOS_PLANT instead)',
    );
  const file = f.cluster === undefined ? undefined : readClusterFile(f.cluster);
  const seed = f.seed ?? randomInt(1, 2 ** 31);
  const outDir = f.out ?? join(paxosHome(), 'checks', new Date().toISOString().replace(/[:.]/g, '-'));
  const { runCheckCommand } = await import('../services/check.js');
  const code = await runCheckCommand({
    clusterSize: file?.bootstrapSize ?? f.nodes,
    protocol: file?.protocol ?? f.protocol,
    ...(f.cluster !== undefined ? { clusterFile: f.cluster } : {}),
    durationMs: f.time,
    clients: f.clients,
    keys: f.keys,
    nemesis: f.nemesis,
    seed,
    outDir,
    attach: f.attach === true,
    clusterHome: join(outDir, 'cluster'),
    opTimeoutMs: f.opTimeout,
    checkBudgetMs: f.checkBudget,
    json: f.json === true,
    ...(f.plant !== undefined ? { plant: f.plant } : {}),
  });
  setExit(code);
}
