/**
 * The `paxos scenario` service: scripted walk-throughs of the protocol, run on
 * real replica processes in step mode (live, the default) or on replica
 * shells over scripted twins (`--sim`; `src/scenario/`). A scenario is a
 * data file in templates/scenarios/; `run` prints each step's narration, its
 * command and the trace it produced, and checks the trace against the one the
 * file expects, the same check in both modes and in the scenario tests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperatingError, UsageError } from '../../errors.js';
import { runScenario, runScenarioLive, type StepResult } from '../../scenario/run.js';
import { parseScenario, type Scenario } from '../../scenario/script.js';
import { didYouMean } from '../parse.js';
import { openTraceOutput } from './trace-file.js';

const DIR = fileURLToPath(new URL('../../../../templates/scenarios/', import.meta.url));

export interface ScenarioSummary {
  readonly name: string;
  readonly title: string;
}

export function scenarioNames(dir = DIR): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.txt'))
        .map((f) => f.slice(0, -'.txt'.length))
        .sort()
    : [];
}

/** Each shipped scenario's name and title; a file without a `# title:` line is titled by its name. */
export function listScenarios(dir = DIR): ScenarioSummary[] {
  return scenarioNames(dir).map((name) => ({
    name,
    title: parseScenario(readFileSync(join(dir, `${name}.txt`), 'utf8')).title ?? name,
  }));
}

export function runScenarioList(o: {
  readonly json: boolean;
  readonly out: (line: string) => void;
  readonly dir?: string;
}): void {
  const list = listScenarios(o.dir);
  if (o.json) return o.out(JSON.stringify(list));
  const width = Math.max(0, ...list.map((s) => s.name.length));
  for (const s of list) o.out(`${s.name.padEnd(width)}  ${s.title}`);
}

/** A shipped scenario's path by name, or a file the user names by path (anything with a `/` or ending in .txt). */
export function resolveScenario(target: string, dir = DIR): string {
  const names = scenarioNames(dir);
  if (names.includes(target)) return join(dir, `${target}.txt`);
  if (target.includes('/') || target.endsWith('.txt')) {
    if (!existsSync(target) || !statSync(target).isFile())
      throw new OperatingError(`cannot read the scenario ${target}: there is no such file`);
    return target;
  }
  throw new UsageError(
    `there is no scenario "${target}"${didYouMean(target, names)}; \`paxos scenario list\` shows them, and a path to a .txt file works too`,
  );
}

/** Where a scenario runs: real replica processes, or replica shells over scripted twins; `auto` picks live when the script can run there. */
export type ScenarioMode = 'live' | 'sim' | 'auto';

export interface ScenarioRunOptions {
  readonly target: string;
  readonly mode: ScenarioMode;
  /** Write the run's trace (JSON lines, for paxos trace) to this file, or - for stdout. */
  readonly trace?: string;
  readonly out: (line: string) => void;
  /** Called between steps with `--step` on a terminal: resolves once the user pressed Enter. */
  readonly pause?: () => Promise<void>;
  readonly dir?: string;
}

/** Commands only a scripted disk can run: a real disk finishes writes on its own. */
const SIM_ONLY = [/^option persisted explicit\b/, /^persisted\b/];

/** Why the scenario cannot run on real replicas, or null when it can. */
export function liveProblem(scenario: Scenario): string | null {
  for (const step of scenario.steps) {
    if (step.kind !== 'command') continue;
    if (SIM_ONLY.some((re) => re.test(step.command)))
      return `it controls when writes finish (\`${step.command}\`), which only the scripted disk can do`;
  }
  return null;
}

/** Runs a scenario; resolves to the exit code: 0 when every step's trace is the expected one, 1 otherwise. */
export async function runScenarioCommand(o: ScenarioRunOptions): Promise<number> {
  const path = resolveScenario(o.target, o.dir);
  const scenario = parseScenario(readFileSync(path, 'utf8'));
  if (scenario.steps.length === 0)
    throw new UsageError(`${path} has no steps; a step is a command line, then ----, then the trace it prints`);
  const live = chooseLive(scenario, o.mode);
  if (live && o.trace === '-')
    throw new UsageError(
      "--trace - is for --sim runs: a live run's trace is merged from the replicas when the cluster stops, so give it a file",
    );
  // A trace on stdout owns it: the walk-through moves to stderr so the trace stays a clean JSON-lines stream.
  const out = o.trace === '-' ? (line: string) => process.stderr.write(`${line}\n`) : o.out;
  out(`${scenario.title ?? basename(path, '.txt')}`);
  out(
    live
      ? '(live: real replica processes in step mode, in a scratch directory deleted afterwards)\n'
      : '(simulated: replica shells over a scripted clock, disk and network)\n',
  );
  const onStep = (r: StepResult) => printStep(r, out);
  const results = live
    ? await runScenarioLive(scenario, {
        onStep,
        exitOnSignal: true,
        ...(o.pause !== undefined ? { between: o.pause } : {}),
        ...(o.trace !== undefined ? { traceFile: o.trace } : {}),
      })
    : await runSimulated(scenario, {
        onStep,
        ...(o.trace !== undefined ? { trace: o.trace } : {}),
        ...(o.pause !== undefined ? { pause: o.pause } : {}),
      });
  return summarize(scenario, results, out, o.trace);
}

/** Live unless told --sim; `auto` falls back to the scripted twins when the script needs them, and a forced --live that cannot run is refused. */
function chooseLive(scenario: Scenario, mode: ScenarioMode): boolean {
  if (mode === 'sim') return false;
  const problem = liveProblem(scenario);
  if (problem !== null && mode === 'live')
    throw new UsageError(`this scenario cannot run on real replicas: ${problem}; run it with --sim`);
  return problem === null;
}

/**
 * The scripted run is synchronous and deterministic, so it runs whole first;
 * its steps are then printed one by one, with the pause (`--step`) between
 * them. What the reader sees is the same as pausing the run itself.
 */
async function runSimulated(
  scenario: Scenario,
  o: { onStep: (r: StepResult) => void; trace?: string; pause?: () => Promise<void> },
): Promise<StepResult[]> {
  const traceOut = o.trace === undefined ? null : openTraceOutput(o.trace);
  const results: StepResult[] = [];
  try {
    runScenario(scenario, {
      ...(traceOut !== null ? { traceSink: traceOut.write } : {}),
      onStep: (r) => results.push(r),
    });
  } finally {
    traceOut?.close();
  }
  for (const r of results) {
    o.onStep(r);
    if (r.number < scenario.steps.length) await o.pause?.();
  }
  return results;
}

function printStep(r: StepResult, out: (line: string) => void): void {
  for (const c of r.step.comments) out(c);
  if (r.step.kind === 'narrate') return out(`» ${r.step.text}\n`);
  if (r.skipped) return out(`> ${r.step.command}   (not run: an earlier step failed)\n`);
  out(`> ${r.step.command}`);
  for (const line of r.actual === '' ? [] : r.actual.split('\n')) out(`  ${line}`);
  if (!r.ok)
    out(`✗ step ${r.number} differs from what the scenario expects (- expected, + actual):\n${indent(r.failure)}`);
  out('');
}

function summarize(
  scenario: Scenario,
  results: readonly StepResult[],
  out: (line: string) => void,
  trace: string | undefined,
): number {
  const commands = results.filter((r) => r.step.kind === 'command');
  const failed = results.filter((r) => !r.ok);
  const traced = trace !== undefined && trace !== '-' ? `; trace written to ${trace}` : '';
  if (failed.length === 0) {
    out(`${commands.length} steps, every trace as expected${traced}`);
    return 0;
  }
  const which = failed.map((r) => `${r.number} (${r.step.kind === 'command' ? r.step.command : ''})`).join(', ');
  out(
    `${failed.length} of ${commands.length} steps in ${scenario.title ?? 'the scenario'} differ from the expected trace: step ${which}${traced}`,
  );
  return 1;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
