/**
 * Every command of the program, registered in the order `paxos --help`
 * lists them. One module, so a run that needs them all (help, completion,
 * the commands main.ts does not load alone) loads them in one go.
 */
import type { Command } from '@commander-js/extra-typings';
import { registerAdd } from './commands/add.js';
import { registerBench } from './commands/bench.js';
import { registerCerts } from './commands/certs.js';
import { registerCheck } from './commands/check.js';
import { registerCompletion } from './commands/completion.js';
import { registerDown, registerReset } from './commands/down.js';
import { registerExplore } from './commands/explore.js';
import { registerFaults } from './commands/faults.js';
import { registerGet } from './commands/get.js';
import { registerLogs } from './commands/logs.js';
import { registerPropose } from './commands/propose.js';
import { registerRecover } from './commands/recover.js';
import { registerRemove } from './commands/remove.js';
import { registerReplace } from './commands/replace.js';
import { registerReplay } from './commands/replay.js';
import { registerReplica } from './commands/replica.js';
import { registerScenario } from './commands/scenario.js';
import { registerSim } from './commands/sim.js';
import { registerStatus } from './commands/status-command.js';
import { registerStep } from './commands/step.js';
import { registerTrace } from './commands/trace.js';
import { registerUi } from './commands/ui.js';
import { registerUp } from './commands/up.js';

export function registerAll(program: Command, setExit: (code: number) => void): void {
  registerUp(program, setExit);
  registerPropose(program);
  registerGet(program);
  registerStatus(program);
  registerFaults(program);
  registerStep(program);
  registerAdd(program);
  registerRemove(program);
  registerReplace(program);
  registerRecover(program);
  registerLogs(program);
  registerUi(program);
  registerDown(program);
  registerReset(program);
  registerSim(program, setExit);
  registerExplore(program, setExit);
  registerBench(program, setExit);
  registerCheck(program, setExit);
  registerScenario(program, setExit);
  registerTrace(program);
  registerReplay(program, setExit);
  registerReplica(program);
  registerCerts(program);
  registerCompletion(program);
}
