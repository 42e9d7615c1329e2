import { readSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { runScenarioCommand, runScenarioList } from '../services/scenario.js';
import { UsageError } from '../../errors.js';

export function registerScenario(program: Command, setExit: (code: number) => void): void {
  const scenario = program
    .command('scenario')
    .description('scripted walk-throughs of the protocol on real replica shells, each step checked against the trace it must print');

  scenario
    .command('list')
    .description('list the shipped scenarios with their titles')
    .option('--json', 'print the list as JSON')
    .action((opts) => {
      runScenarioList({ json: opts.json === true, out: (line) => process.stdout.write(`${line}\n`) });
    });

  scenario
    .command('run')
    .description('run a scenario step by step, printing each step\'s narration, command and trace; exit 1 when a trace differs from the expected one')
    .argument('<name>', 'a name from `paxos scenario list`, or the path of a scenario file')
    .option('--sim', 'run on replica shells over scripted twins (the default, and the only mode for now)')
    .option('--live', 'run against real replicas: not there yet, refused for now')
    .option('--trace <file>', 'write the run\'s trace (JSON lines, for paxos trace) to this file, or - for stdout')
    .option('--step', 'on a terminal, wait for Enter between steps')
    .action((name, opts) => {
      if (opts.live === true) throw new UsageError('--live is not there yet: scenarios run only on scripted replica shells for now, so leave it out (or pass --sim)');
      const pause = opts.step === true && process.stdin.isTTY ? waitForEnter : undefined;
      setExit(runScenarioCommand({
        target: name, out: (line) => process.stdout.write(`${line}\n`),
        ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
        ...(pause !== undefined ? { pause } : {}),
      }));
    });
}

/** Blocks until the user presses Enter: a terminal in line mode hands over a line at a time, so one read is one Enter. */
function waitForEnter(): void {
  process.stderr.write('(Enter for the next step) ');
  const buffer = Buffer.alloc(256);
  try {
    readSync(0, buffer, 0, buffer.length, null);
  } catch {
    // A terminal that cannot be read (EAGAIN on a non-blocking stdin) just does not pause: the run goes on.
  }
}
