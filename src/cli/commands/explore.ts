import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { CHANGE_KINDS, type ChangeKind } from '../../explore/changes.js';
import { FAULTS, type Fault } from '../../explore/world.js';
import { PLANTS, plantNamed } from '../../sim/planted.js';
import { didYouMean, parseDurationMs, parseIntFlag, parseProtocol } from '../parse.js';

function parseFaults(raw: string): Fault[] {
  if (raw === 'none') return [];
  const kinds = raw.split(',').map((k) => k.trim());
  for (const k of kinds)
    if (!(FAULTS as readonly string[]).includes(k))
      throw new UsageError(
        `--faults must be none or a list of ${FAULTS.join(', ')}, got "${k}"${didYouMean(k, FAULTS)}`,
      );
  return kinds as Fault[];
}

function parseChangeKinds(raw: string): ChangeKind[] {
  const kinds = raw.split(',').map((k) => k.trim());
  for (const k of kinds)
    if (!(CHANGE_KINDS as readonly string[]).includes(k))
      throw new UsageError(
        `--change-kinds must be a list of ${CHANGE_KINDS.join(', ')}, got "${k}"${didYouMean(k, CHANGE_KINDS)}`,
      );
  return kinds as ChangeKind[];
}

/** The plants a scripted cluster can carry: those of the replica's own rules (`option plant` in a scenario). */
export const EXPLORABLE_PLANTS = PLANTS.filter((p) => p.bugs !== undefined && p.simBugs === undefined).map(
  (p) => p.name,
);

function parsePlantName(name: string): string {
  if (!EXPLORABLE_PLANTS.includes(name)) {
    const known = plantNamed(name);
    throw new UsageError(
      known !== undefined
        ? `--plant ${name} (${known.what}) breaks the simulator's world, not a replica's rules: only paxos sim can plant it`
        : `--plant must be one of ${EXPLORABLE_PLANTS.join(', ')}, got "${name}"${didYouMean(name, EXPLORABLE_PLANTS)}`,
    );
  }
  return name;
}

export function registerExplore(program: Command, setExit: (code: number) => void): void {
  program
    .command('explore')
    .description(
      'search every schedule of a small cluster (real replica shells over scripted twins) breadth first, checking safety at every state; a violation comes back as the shortest scenario file that shows it',
    )
    .option('-n, --nodes <count>', 'replicas', parseIntFlag('-n', 1, 5), 3)
    .option('--protocol <name>', 'multi or basic', parseProtocol, 'basic')
    .option(
      '--proposals <count>',
      'client requests, each sent once when the search chooses (request i to node-i, value x=i)',
      parseIntFlag('--proposals', 0, 6),
      2,
    )
    .option(
      '--changes <count>',
      'configuration changes (multi only), each sent once when the search chooses: change i to node-i, shaped by --change-kinds',
      parseIntFlag('--changes', 0, 4),
      0,
    )
    .option(
      '--change-kinds <kinds>',
      "what each change asks, comma-separated, change i taking the i-th (the list repeats): remove (epoch 0 without the last replica), add (epoch 0 plus one replica, which joins as a learner first), future (names epoch 1 while 0 is in force), reuse (epoch 0 unchanged, under the identity of the replica's first request) (default: remove)",
      parseChangeKinds,
    )
    .option('--depth <steps>', 'actions along one schedule, at most', parseIntFlag('--depth', 1, 1000), 12)
    .option(
      '--faults <kinds>',
      `fault kinds the schedules may use, comma-separated: ${FAULTS.join(', ')}, or none (default: none)`,
      parseFaults,
    )
    .option(
      '--crashes <count>',
      'crashes along one schedule, at most, with crash in --faults',
      parseIntFlag('--crashes', 0, 9),
      1,
    )
    .option(
      '--plant <bug>',
      `search with a known bug planted (one of the replica's own rules): ${EXPLORABLE_PLANTS.join(', ')}`,
      parsePlantName,
    )
    .option('--time <duration>', 'stop the search after this long', parseDurationMs('--time'), 60_000)
    .option(
      '--max-states <count>',
      'stop the search after trying this many transitions',
      parseIntFlag('--max-states', 1, 1e9),
      1_000_000,
    )
    .option(
      '--liveness',
      'also check "nothing stuck" at every distinct state: once faults stop, a fair schedule must answer a new request and bring every replica up to date (costly)',
    )
    .option('--out <file>', "write a counterexample's scenario to this file (default: print it)")
    .option('--json', 'print the summary as JSON')
    .option(
      '--interactive',
      'walk the state graph by hand: list the enabled actions, read a number from stdin, show where it leads',
    )
    .option(
      '--from <file>',
      "start at the end of this scenario file (a counterexample, or a prefix written with --interactive's w): the search explores the schedules after it, depths counted from there; with --interactive, the walk starts there",
    )
    .action(async (opts) => runExplore(opts, setExit));
}

/** The search, or with --interactive the walk by hand; the exit code goes to setExit. */
async function runExplore(
  opts: ParsedFlags & { readonly from?: string; readonly interactive?: true },
  setExit: (code: number) => void,
): Promise<void> {
  const { runExploreCommand, runExploreInteractive } = await import('../services/explore.js');
  if (opts.changes > 0 && opts.protocol !== 'multi')
    throw new UsageError('--changes needs --protocol multi: Basic Paxos has no configuration to change');
  if (opts.changeKinds !== undefined && opts.changes === 0)
    throw new UsageError('--change-kinds shapes the changes --changes asks for; add --changes');
  if (opts.interactive === true) {
    const { createInterface } = await import('node:readline');
    const lines = createInterface({ input: process.stdin, terminal: false });
    setExit(
      await runExploreInteractive({
        ...commonOptions(opts),
        ...(opts.from !== undefined ? { from: opts.from } : {}),
        lines,
      }),
    );
    lines.close();
    return;
  }
  const tty = process.stderr.isTTY === true;
  let lastLineMs = 0;
  setExit(
    runExploreCommand({
      ...commonOptions(opts),
      ...(opts.from !== undefined ? { from: opts.from } : {}),
      progress: (p) => {
        // On a terminal one line rewritten in place; otherwise a line every 10 seconds, for logs.
        if (!tty && p.elapsedMs - lastLineMs < 10_000) return;
        lastLineMs = p.elapsedMs;
        const rate = p.elapsedMs > 0 ? Math.round((p.explored * 1000) / p.elapsedMs) : 0;
        const line = `explore: depth ${p.depth}, ${p.explored} states, ${p.distinct} distinct, ${rate}/s, ${(p.elapsedMs / 1000).toFixed(0)}s`;
        process.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      },
    }),
  );
  if (tty) process.stderr.write('\n');
}

interface ParsedFlags {
  readonly protocol: 'multi' | 'basic';
  readonly nodes: number;
  readonly proposals: number;
  readonly changes: number;
  readonly changeKinds?: ChangeKind[];
  readonly faults?: Fault[];
  readonly crashes: number;
  readonly depth: number;
  readonly maxStates: number;
  readonly time: number;
  readonly plant?: string;
  readonly out?: string;
  readonly json?: true;
  readonly liveness?: true;
}

/** One kind per change: change i takes the i-th kind, the list repeated. */
function changeList(count: number, kinds: readonly ChangeKind[]): ChangeKind[] {
  return Array.from({ length: count }, (_, i) => kinds[i % kinds.length] ?? 'remove');
}

/** What the search and the interactive walk both take from the flags. */
function commonOptions(opts: ParsedFlags) {
  return {
    protocol: opts.protocol,
    nodes: opts.nodes,
    proposals: opts.proposals,
    changes: changeList(opts.changes, opts.changeKinds ?? ['remove']),
    faults: opts.faults ?? [],
    crashes: opts.crashes,
    depth: opts.depth,
    maxStates: opts.maxStates,
    timeMs: opts.time,
    ...(opts.plant !== undefined ? { plant: opts.plant } : {}),
    ...(opts.out !== undefined ? { outFile: opts.out } : {}),
    json: opts.json === true,
    liveness: opts.liveness === true,
    commandLine: `paxos ${process.argv.slice(2).join(' ')}`,
    out: (line: string) => process.stdout.write(`${line}\n`),
  };
}
