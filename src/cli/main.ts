/**
 * The commander program. Each command lives in commands/<name>.ts: it parses
 * and validates, then calls a service. This file maps every error to one
 * sentence on stderr and an exit code, in one place.
 */
import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerCheck } from './commands/check.js';
import { registerDown } from './commands/down.js';
import { registerFaults } from './commands/faults.js';
import { registerGet } from './commands/get.js';
import { registerLogs } from './commands/logs.js';
import { registerPropose } from './commands/propose.js';
import { registerSim } from './commands/sim.js';
import { registerStatus } from './commands/status.js';
import { registerUi } from './commands/ui.js';
import { registerUp } from './commands/up.js';
import { describeError, exitCodeFor } from '../errors.js';

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('paxos')
    .description('A Paxos lab: real replicas over WebSocket, a live dashboard, and a seeded simulator that checks safety.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerUp(program, setExit);
  registerPropose(program);
  registerGet(program);
  registerStatus(program);
  registerFaults(program);
  registerLogs(program);
  registerUi(program);
  registerDown(program);
  registerSim(program, setExit);
  registerBench(program, setExit);
  registerCheck(program, setExit);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => { exitCode = code; });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}
