import { type Command, Option } from '@commander-js/extra-typings';
import type { Protocol } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import { didYouMean, parseIntFlag, parseSoakLength } from '../parse.js';

function intList(flag: string, min: number, max: number) {
  const one = parseIntFlag(flag, min, max);
  return (raw: string): number[] => raw.split(',').map((x) => one(x.trim()));
}

function protocols(raw: string): Protocol[] {
  if (raw === 'both') return ['multi', 'basic'];
  if (raw === 'multi' || raw === 'basic') return [raw];
  throw new UsageError(
    `--protocol must be multi, basic or both, got "${raw}"${didYouMean(raw, ['multi', 'basic', 'both'])}`,
  );
}

/** The options as commander parses them. */
interface BenchOptions {
  readonly nodes: number[];
  readonly protocol: Protocol[];
  readonly ops: number;
  readonly concurrency: number[];
  readonly valueSize: number[];
  readonly interval: { values: number } | { ms: number };
  readonly keys: number;
  readonly attach?: true | undefined;
  readonly withoutBreakdown?: true | undefined;
  readonly json?: true | undefined;
  readonly out?: string | undefined;
}

/** Rows to stdout and a progress line on stderr, when stderr is a terminal. */
interface TerminalOutput {
  readonly tty: boolean;
  readonly print: (line: string) => void;
  readonly progress: { progress?: (text: string) => void };
}

function terminalOutput(): TerminalOutput {
  const tty = process.stderr.isTTY === true;
  // Stdout and stderr share the terminal: the progress line is cleared first, or the row lands on its end.
  const print = (line: string) => {
    if (tty) process.stderr.write('\r\x1b[2K');
    process.stdout.write(`${line}\n`);
  };
  const progress = tty ? { progress: (text: string) => process.stderr.write(`\r\x1b[2K${text}`) } : {};
  return { tty, print, progress };
}

/** `--soak`: one configuration, a row per interval; resolves to the exit code. */
async function soak(a: {
  o: BenchOptions;
  soak: { values: number } | { ms: number };
  concurrency: number[];
  fromCli: (name: string) => boolean;
  terminal: TerminalOutput;
}): Promise<number> {
  const { o, concurrency, fromCli, terminal } = a;
  const lists = (
    [
      ['-n', o.nodes],
      ['--protocol', o.protocol],
      ['--concurrency', concurrency],
      ['--value-size', o.valueSize],
    ] as const
  )
    .filter(([, v]) => v.length > 1)
    .map(([flag]) => flag);
  if (lists.length > 0)
    throw new UsageError(
      `--soak runs one configuration, so ${lists.length === 1 ? `${lists[0]} must be` : `${lists.slice(0, -1).join(', ')} and ${lists.at(-1)} must each be`} a single value`,
    );
  if (fromCli('ops')) throw new UsageError('--ops and --soak both say how long to run; give one of them');
  if (o.protocol[0] === 'basic' && fromCli('keys'))
    throw new UsageError(
      '--keys applies to Multi-Paxos: Basic Paxos keys are write-once, so its soak gives each value a new key',
    );
  const { runSoak } = await import('../services/bench-soak.js');
  const result = await runSoak({
    protocol: o.protocol[0],
    nodes: o.nodes[0],
    concurrency: concurrency[0],
    valueSize: o.valueSize[0],
    keys: o.keys,
    length: a.soak,
    interval: o.interval,
    ...runOutput(o, terminal),
  });
  return finished(result.rows, terminal);
}

/** The table: every combination of the lists; resolves to the exit code. */
async function table(o: BenchOptions, terminal: TerminalOutput): Promise<number> {
  const { runBench } = await import('../services/bench.js');
  const rows = await runBench({
    protocols: o.protocol,
    nodes: o.nodes,
    ops: o.ops,
    concurrency: o.concurrency,
    valueSizes: o.valueSize,
    breakdown: o.withoutBreakdown !== true,
    ...runOutput(o, terminal),
  });
  return finished(rows, terminal);
}

/** What the table and the soak take alike: the cluster to attach to, and where and how the rows go. */
function runOutput(o: BenchOptions, terminal: TerminalOutput) {
  return {
    attach: o.attach === true,
    json: o.json === true,
    ...(o.out ? { out: o.out } : {}),
    print: terminal.print,
    ...terminal.progress,
  };
}

/** Clears the progress line; exit 1 when any row had failed proposals. */
function finished(rows: readonly { readonly failed: number }[], terminal: TerminalOutput): number {
  if (terminal.tty) process.stderr.write('\r\x1b[2K');
  return rows.some((r) => r.failed > 0) ? 1 : 0;
}

export function registerBench(program: Command, setExit: (code: number) => void): void {
  program
    .command('bench')
    .description(
      'measure throughput, latency percentiles, messages and fsyncs per chosen value, and memory, on real replicas with durability on',
    )
    .option('-n, --nodes <list>', 'replicas per cluster, e.g. 3 or 3,5,7', intList('-n', 1, 15), [3])
    .option('--protocol <name>', 'multi, basic or both', protocols, ['multi'] as Protocol[])
    .option('--ops <count>', 'proposals per measurement', parseIntFlag('--ops', 10, 10_000_000), 20_000)
    .option('--concurrency <list>', 'proposals in flight, e.g. 1,16,64', intList('--concurrency', 1, 4096), [1, 16, 64])
    .option('--value-size <list>', 'bytes per value, e.g. 8 or 8,1024,65536', intList('--value-size', 0, 65_536), [8])
    .option(
      '--soak <length>',
      'run one configuration for this many values (1000000) or this long (10m), a row per --interval, and say whether memory, disk and throughput stayed flat',
      parseSoakLength('--soak'),
    )
    .addOption(
      new Option('--interval <length>', 'with --soak: a row every this many values (100000) or this long (30s)')
        .argParser(parseSoakLength('--interval'))
        .default({ ms: 10_000 } as { values: number } | { ms: number }, '10s'),
    )
    .option(
      '--keys <count>',
      'with --soak: Multi-Paxos keys cycled through, so the application state stays bounded',
      parseIntFlag('--keys', 1, 1_000_000),
      1000,
    )
    .option('--attach', 'measure the running cluster (from `paxos up`) instead of starting one')
    .option(
      '--without-breakdown',
      'leave out the latency breakdown, whose sampling costs the replicas a little (for comparing builds that lack it)',
    )
    .option('--json', 'print the rows as JSON')
    .option('--out <file>', 'also write the rows and the machine to this JSON file')
    .action(async (o, cmd) => {
      const terminal = terminalOutput();
      const fromCli = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      if (o.soak === undefined) {
        for (const flag of ['interval', 'keys'] as const)
          if (fromCli(flag)) throw new UsageError(`--${flag} only applies to --soak`);
      } else {
        // Concurrency's default is a list for the table; a soak left to the default runs the busiest of it.
        const concurrency =
          cmd.getOptionValueSource('concurrency') === 'default' ? [Math.max(...o.concurrency)] : o.concurrency;
        setExit(await soak({ o, soak: o.soak, concurrency, fromCli, terminal }));
        return;
      }
      setExit(await table(o, terminal));
    });
}
