/**
 * Walking the state graph by hand (`paxos explore --interactive`): from the
 * initial state, or from the end of a scenario file (a counterexample), the
 * state is shown (each replica's acceptor and learner, the messages in
 * flight), then the enabled actions, numbered; a number takes that action
 * and shows what it printed and where it leads. `b` goes back a step, `w
 * FILE` writes the path so far as a scenario, `q` (or the end of input) stops.
 */
import { writeFileSync } from 'node:fs';
import { describeMessage } from '../core/describe.js';
import { nodeName } from '../core/types.js';
import { describeState } from '../node/describe-state.js';
import { parseScenario } from '../scenario/script.js';
import { scenarioText } from './counterexample.js';
import { applyGuarded } from './search.js';
import { type ExploreSettings, ExploreWorld, setupCommands, type Template } from './world.js';

export interface InteractiveOptions {
  readonly settings: ExploreSettings;
  /** The path to start from (the commands of a scenario after its setup lines); empty for the initial state. */
  readonly start: readonly string[];
  readonly lines: AsyncIterable<string>;
  readonly out: (line: string) => void;
}

/** Bounds a session fed by a runaway pipe: far more choices than anyone types. */
const MAX_CHOICES = 100_000;

/** Runs the session; returns the number of violations met along the way (0 or 1: a violating step ends the path). */
export async function runInteractive(o: InteractiveOptions): Promise<number> {
  const path = [...o.start];
  let world = ExploreWorld.replay(o.settings, path);
  let violations = world.violation === null ? 0 : 1;
  let actions = show(world, o.out);
  let choices = 0;
  for await (const raw of o.lines) {
    if (++choices > MAX_CHOICES) break;
    const line = raw.trim();
    if (line === 'q' || line === 'quit') break;
    if (line === '') continue;
    if (line === 'b' || line === 'back') {
      if (path.length === 0) o.out('at the initial state: nothing to go back to');
      else path.pop();
    } else if (line.startsWith('w ')) {
      const file = line.slice(2).trim();
      const violation = world.violation ?? 'none (written by hand from paxos explore --interactive)';
      writeFileSync(
        file,
        scenarioText(o.settings, { commands: path, violation }, { foundBy: 'paxos explore --interactive' }),
      );
      o.out(`wrote ${path.length} steps to ${file}`);
      continue;
    } else {
      const n = Number(line);
      const t = Number.isInteger(n) ? actions[n - 1] : undefined;
      if (t === undefined) {
        o.out(`choose 1 to ${actions.length}, b (back), w FILE (write the path as a scenario) or q (quit)`);
        continue;
      }
      const next = ExploreWorld.replay(o.settings, path);
      const step = applyGuarded(next, t);
      if (step === null) {
        o.out(`${'node' in t ? nodeName(t.node) : 'node-?'} has no timeout within the bound: nothing happens`);
        continue;
      }
      path.push(step.command);
      o.out(`> ${step.command}`);
      for (const l of step.trace.split('\n')) if (l !== '') o.out(`  ${l}`);
      if (step.violation !== null) {
        violations = 1;
        o.out(`VIOLATION: ${step.violation}`);
      }
    }
    world = ExploreWorld.replay(o.settings, path);
    actions = show(world, o.out);
  }
  return violations;
}

/** Prints the state and the numbered actions; returns the actions in that order. */
function show(world: ExploreWorld, out: (line: string) => void): Template[] {
  const view = world.cluster.inspect();
  out('');
  out(`state after ${world.steps.length} steps (hash ${world.hash().slice(0, 10)})`);
  for (const n of view.nodes) {
    if (n.replica === null) {
      out(`  ${nodeName(n.id)} is down (${n.disk.length} records on disk)`);
      continue;
    }
    const lines = describeState(nodeName(n.id), n.replica.inspectCore());
    if (lines.length === 0) out(`  ${nodeName(n.id)}: nothing promised or accepted`);
    for (const l of lines) out(`  ${l}`);
  }
  out(`  in flight: ${view.pool.length === 0 ? 'nothing' : ''}`);
  for (const m of view.pool) out(`    ${describeMessage(view.protocol, m)}`);
  const actions = world.enabled();
  out('actions:');
  actions.forEach((t, i) => {
    out(`  ${String(i + 1).padStart(2)}. ${label(t)}`);
  });
  return actions;
}

function label(t: Template): string {
  switch (t.kind) {
    case 'deliver':
    case 'drop':
    case 'duplicate':
      return `${t.kind} the oldest ${t.type} from ${nodeName(t.from)} to ${nodeName(t.to)}`;
    case 'tick':
      return `tick ${nodeName(t.node)} to its next timeout`;
    case 'propose':
      return `client request #${t.index}`;
    case 'change':
      return `configuration change #${t.index}`;
    default:
      return `${t.kind} ${nodeName(t.node)}`;
  }
}

/** The explored commands of a scenario file: its command lines after the setup lines `settings` writes. */
export function commandsOf(settings: ExploreSettings, text: string): string[] {
  const commands = parseScenario(text).steps.flatMap((s) => (s.kind === 'command' ? [s.command] : []));
  const setup = setupCommands(settings);
  for (const [i, line] of setup.entries())
    if (commands[i] !== line)
      throw new Error(
        `the scenario must start with the lines these flags give (${setup.join('; ')}); line ${i + 1} is "${commands[i] ?? ''}"`,
      );
  return commands.slice(setup.length);
}
