import type { Command } from '@commander-js/extra-typings';
import type { Protocol } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import { didYouMean, parseIntFlag } from '../parse.js';
import { runBench } from '../services/bench.js';

function intList(flag: string, min: number, max: number) {
  const one = parseIntFlag(flag, min, max);
  return (raw: string): number[] => raw.split(',').map((x) => one(x.trim()));
}

function protocols(raw: string): Protocol[] {
  if (raw === 'both') return ['multi', 'basic'];
  if (raw === 'multi' || raw === 'basic') return [raw];
  throw new UsageError(`--protocol must be multi, basic or both, got "${raw}"${didYouMean(raw, ['multi', 'basic', 'both'])}`);
}

export function registerBench(program: Command, setExit: (code: number) => void): void {
  program.command('bench')
    .description('measure throughput, latency percentiles, messages and fsyncs per chosen value, and memory, on real replicas with durability on')
    .option('-n, --nodes <list>', 'replicas per cluster, e.g. 3 or 3,5,7', intList('-n', 1, 15), [3])
    .option('--protocol <name>', 'multi, basic or both', protocols, ['multi'] as Protocol[])
    .option('--ops <count>', 'proposals per measurement', parseIntFlag('--ops', 10, 10_000_000), 20_000)
    .option('--concurrency <list>', 'proposals in flight, e.g. 1,16,64', intList('--concurrency', 1, 4096), [1, 16, 64])
    .option('--value-size <list>', 'bytes per value, e.g. 8 or 8,1024,65536', intList('--value-size', 0, 65_536), [8])
    .option('--attach', 'measure the running cluster (from `paxos up`) instead of starting one')
    .option('--json', 'print the rows as JSON')
    .option('--out <file>', 'also write the rows and the machine to this JSON file')
    .action(async (o) => {
      const tty = process.stderr.isTTY === true;
      const rows = await runBench({
        protocols: o.protocol, nodes: o.nodes, ops: o.ops, concurrency: o.concurrency, valueSizes: o.valueSize, attach: o.attach === true,
        json: o.json === true, ...(o.out ? { out: o.out } : {}),
        // Stdout and stderr share the terminal: the progress line is cleared first, or the row lands on its end.
        print: (line) => { if (tty) process.stderr.write('\r\x1b[2K'); process.stdout.write(`${line}\n`); },
        ...(tty ? { progress: (text: string) => process.stderr.write(`\r\x1b[2K${text}`) } : {}),
      });
      if (tty) process.stderr.write('\r\x1b[2K');
      setExit(rows.some((r) => r.failed > 0) ? 1 : 0);
    });
}
