import type { Command } from '@commander-js/extra-typings';
import { didYouMean, parseIntFlag, parseProtocol } from '../parse.js';
import { UsageError } from '../../errors.js';
import { plantNamed, PLANTS, type Plant } from '../../sim/planted.js';

function parsePlant(name: string): Plant {
  const plant = plantNamed(name);
  if (plant === undefined) throw new UsageError(`--plant must be one of ${PLANTS.map((p) => p.name).join(', ')}, got "${name}"${didYouMean(name, PLANTS.map((p) => p.name))}`);
  return plant;
}

export function registerSim(program: Command, setExit: (code: number) => void): void {
  program
    .command('sim')
    .description('run the protocol in the seeded simulator under crashes, partitions, loss and duplication, checking safety at every step')
    .option('--protocol <name>', 'multi or basic', parseProtocol, 'multi')
    .option('-n, --nodes <count>', 'replicas per schedule (1-9)', parseIntFlag('-n', 1, 9), 5)
    .option('--seeds <count>', 'schedules to run', parseIntFlag('--seeds', 1, 10_000_000), 1000)
    .option('--seed <n>', 'run exactly this seed (reproduces a failure)', parseIntFlag('--seed', 0, 2 ** 32))
    .option('--from <n>', 'first seed of the range (default: random, printed)', parseIntFlag('--from', 0, 2 ** 32))
    .option('--plant <bug>', `run with a known bug planted, to watch the checkers catch it: ${PLANTS.map((p) => p.name).join(', ')}`, parsePlant)
    .option('--trace <file>', 'with --seed: write the schedule\'s whole trace (JSON lines, for paxos trace) to this file, or - for stdout')
    .option('--json', 'print the summary as JSON')
    .action(async (opts) => {
      if (opts.plant?.multiOnly && opts.protocol !== 'multi') throw new UsageError(`--plant ${opts.plant.name} only applies to --protocol multi`);
      const tty = process.stderr.isTTY && !opts.json;
      // A trace on stdout owns it: the summary moves to stderr so the trace stays a clean JSON-lines stream.
      const summaryTo = opts.trace === '-' ? process.stderr : process.stdout;
      const { runSimCommand } = await import('../services/sim.js');
      const interrupt = watchInterrupt();
      const code = await runSimCommand({
        protocol: opts.protocol, clusterSize: opts.nodes, seeds: opts.seeds, json: opts.json === true, ...(opts.plant ? { plant: opts.plant } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.from !== undefined ? { from: opts.from } : {}),
        ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
        out: (line) => summaryTo.write(`${line}\n`),
        ...(tty ? { progress: simProgress() } : {}),
        interrupted: interrupt.happened,
      }).finally(interrupt.stop);
      setExit(code);
    });
}

/**
 * Turns the first Ctrl-C into a flag the seed loop polls, so the run can
 * print the summary of the seeds done so far instead of dying silently.
 * A second Ctrl-C exits at once, for a user who does not want to wait.
 */
function watchInterrupt(): { happened: () => boolean; stop: () => void } {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    // The progress line has no newline yet: clear it so the summary starts on a clean line.
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  };
  process.on('SIGINT', onSignal);
  return { happened: () => interrupted, stop: () => { process.off('SIGINT', onSignal); } };
}

/** `1200/5000 schedules, 340/s, 11s left` on one line of stderr, redrawn every 50 schedules. */
function simProgress(): (done: number, total: number) => void {
  const started = performance.now();
  return (done, total) => {
    if (done % 50 !== 0 && done !== total) return;
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const eta = done === total ? `${seconds.toFixed(1)}s` : left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s left` : `${left}s left`;
    process.stderr.write(`\r\x1b[2K${done}/${total} schedules, ${Math.round(rate)}/s, ${eta}`);
    if (done === total) process.stderr.write('\n');
  };
}
