/**
 * A counterexample as a scenario file: the search's path, shrunk (steps
 * dropped while a violation stays), then run once more through a fresh
 * scenario runner to record each step's trace, so `paxos scenario run --sim`
 * checks every line of it. The violating step carries a `#` comment saying
 * what the checkers saw there.
 */
import { ScenarioCluster } from '../scenario/runner.js';
import { type CommandStep, formatScenario } from '../scenario/script.js';
import { type ExploreSettings, ExploreWorld, setupCommands } from './world.js';

export interface Counterexample {
  /** The explored actions (the setup lines not included), the last one violating. */
  readonly commands: readonly string[];
  readonly violation: string;
}

/** Replays a path with the checks on; the prefix up to its first violation, or null when it has none or no longer applies. */
export function firstViolation(settings: ExploreSettings, commands: readonly string[]): Counterexample | null {
  const world = new ExploreWorld(settings);
  for (let i = 0; i < commands.length; i++) {
    let violation: string | null;
    try {
      violation = world.run(commands[i] ?? '').violation;
    } catch (err) {
      // A step that no longer applies (its message is gone) makes the path invalid; the shell failing loudly does not.
      const text = (err as Error).message;
      if (/^(no pending|node-\d+ (is (down|up)|has no write)|no node-)/.test(text)) return null;
      violation = `the replica threw: ${text}`;
    }
    if (violation !== null) return { commands: commands.slice(0, i + 1), violation };
  }
  return null;
}

/**
 * Drops every step the violation does not need: one at a time, keeping a
 * removal when the shorter path still violates (then cut at its first
 * violation). Bounded: at most `length` passes over the path.
 */
export function shrink(settings: ExploreSettings, found: Counterexample): Counterexample {
  let best = firstViolation(settings, found.commands) ?? found;
  for (let pass = 0, changed = true; changed && pass < found.commands.length; pass++) {
    changed = false;
    for (let i = best.commands.length - 1; i >= 0; i--) {
      const shorter = [...best.commands.slice(0, i), ...best.commands.slice(i + 1)];
      const still = firstViolation(settings, shorter);
      if (still === null) continue;
      best = still;
      changed = true;
      i = Math.min(i, best.commands.length);
    }
  }
  return best;
}

export interface ScenarioHeader {
  /** The command line that found it, for the file's first comment. */
  readonly foundBy: string;
}

/** The scenario file's text: setup, then each step with the trace the scenario runner prints for it. */
export function scenarioText(settings: ExploreSettings, ce: Counterexample, header: ScenarioHeader): string {
  const cluster = new ScenarioCluster();
  const lines = [...setupCommands(settings), ...ce.commands];
  const violating = lines.length - 1;
  const steps: CommandStep[] = lines.map((command, i) => {
    let trace: string;
    try {
      trace = cluster.run(command).trim();
    } catch (err) {
      trace = `error: ${(err as Error).message}`;
    }
    const comments =
      i === 0
        ? [
            `# Found by ${header.foundBy}: ${ce.commands.length} steps after the setup.`,
            '# Run it with: paxos scenario run --sim FILE',
          ]
        : i === violating
          ? [`# VIOLATION at this step: ${ce.violation}`]
          : [];
    return { kind: 'command', comments, command, expected: trace, expects: [] };
  });
  return formatScenario({ title: `explore counterexample: ${firstSentence(ce.violation)}`, steps }, new Map());
}

function firstSentence(text: string): string {
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
