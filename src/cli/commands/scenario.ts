import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';

export function registerScenario(program: Command, setExit: (code: number) => void): void {
  const scenario = program
    .command('scenario')
    .description(
      'scripted walk-throughs of the protocol on real replicas or in the simulator, each step checked against the trace it must print',
    );

  scenario
    .command('list')
    .description('list the shipped scenarios with their titles')
    .option('--json', 'print the list as JSON')
    .action(async (opts) => {
      const { runScenarioList } = await import('../services/scenario.js');
      runScenarioList({ json: opts.json === true, out: (line) => process.stdout.write(`${line}\n`) });
    });

  scenario
    .command('run')
    .description(
      "run a scenario step by step, printing each step's narration, command and trace; exit 1 when a trace differs from the expected one",
    )
    .argument('<name>', 'a name from `paxos scenario list`, or the path of a scenario file')
    .option('--live', 'run on real replica processes in step mode (the default, when the script can run there)')
    .option(
      '--sim',
      'run on replica shells over a scripted clock, disk and network (the default for a script that controls when writes finish)',
    )
    .option('--trace <file>', "write the run's trace (JSON lines, for paxos trace) to this file, or - for stdout")
    .option('--step', 'on a terminal, wait for Enter between steps')
    .action(async (name, opts) => {
      if (opts.live === true && opts.sim === true)
        throw new UsageError('--live and --sim each choose where the scenario runs; give one of them');
      const pause = opts.step === true && process.stdin.isTTY ? waitForEnter : undefined;
      const { runScenarioCommand } = await import('../services/scenario.js');
      setExit(
        await runScenarioCommand({
          target: name,
          mode: opts.live === true ? 'live' : opts.sim === true ? 'sim' : 'auto',
          out: (line) => process.stdout.write(`${line}\n`),
          ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
          ...(pause !== undefined ? { pause } : {}),
        }),
      );
    });
}

/** Resolves when the user presses Enter (or stdin ends); the event loop, and so a live cluster, keeps running meanwhile. */
async function waitForEnter(): Promise<void> {
  process.stderr.write('(Enter for the next step) ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    await Promise.race([once(rl, 'line'), once(rl, 'close')]);
  } finally {
    rl.close();
  }
}
