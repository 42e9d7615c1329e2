/**
 * Runs a parsed scenario step by step and judges each step: the same check
 * the scenario tests make (the trace equals the expected one, and every
 * `expect` line matches), shared by the tests and `paxos scenario run`.
 * Deterministic: nothing here reads the time or draws a random number.
 */
import { TraceRecorder } from '../trace/format.js';
import { type LiveOptions, LiveScenarioCluster } from './live.js';
import { ScenarioCluster } from './runner.js';
import { type CommandStep, expectationMet, type Scenario, type Step } from './script.js';

export interface StepResult {
  readonly step: Step;
  /** 1 for the first step: the trace's tick clock. */
  readonly number: number;
  /** What the step printed, or `error: ...` when it threw; empty for narration and for steps after a broken one. */
  readonly actual: string;
  /** False when the step ran and its trace or an expectation disagreed. */
  readonly ok: boolean;
  /** Set for the steps after one that threw: they were not run, since each depends on the one before. */
  readonly skipped: boolean;
  /** What disagreed, in a few lines: empty when ok. */
  readonly failure: string;
}

export interface RunOptions {
  /** Where trace lines go (`--trace`): each send, delivery, drop, crash, restart, write and chosen value. */
  readonly traceSink?: (line: string) => void;
  /** Called after each step, so a caller can print as the run goes. */
  readonly onStep?: (result: StepResult) => void;
}

/** Runs every step; returns their results. A step that throws ends the run: the steps after it are reported skipped. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): StepResult[] {
  let stepNumber = 0;
  const recorder = options.traceSink
    ? new TraceRecorder(options.traceSink, { unit: 'tick', now: () => stepNumber })
    : null;
  const cluster = new ScenarioCluster(recorder);
  const results: StepResult[] = [];
  let broken = false;
  for (const step of scenario.steps) {
    stepNumber++;
    const result = broken ? skippedResult(step, stepNumber) : runStep(cluster, step, stepNumber);
    if (result.actual.startsWith('error: ')) broken = true;
    results.push(result);
    options.onStep?.(result);
  }
  return results;
}

/**
 * The signals a live run cleans up on. SIGHUP too: a Ctrl-C in a terminal
 * reaches the shell around the run as well, and a terminal window that
 * closes once that shell is gone hangs up on the run mid-cleanup.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What only a live run takes. */
export interface LiveRunOptions extends LiveOptions {
  /** Awaited between steps (`--step`): the replicas keep running while the user reads. */
  readonly between?: () => Promise<void>;
  /** Stop the cluster and exit 130 on SIGINT, SIGTERM or SIGHUP, so no replica and no scratch directory outlives the run. */
  readonly exitOnSignal?: boolean;
}

/**
 * The same run on real replicas (`--live`): each step waits for the
 * processes, so it is asynchronous; the judging is the same. The cluster is
 * stopped, and its scratch home deleted, however the run ends.
 */
export async function runScenarioLive(
  scenario: Scenario,
  options: RunOptions & LiveRunOptions = {},
): Promise<StepResult[]> {
  const cluster = new LiveScenarioCluster(options);
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void cluster.close().finally(() => process.exit(130));
  };
  // `on`, not `once`: execa's exit hook (signal-exit) re-sends a signal to this process when it finds no listener but its own, which killed the run before its cleanup and left the scratch home behind.
  if (options.exitOnSignal === true) for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const results: StepResult[] = [];
  let broken = false;
  try {
    let stepNumber = 0;
    for (const step of scenario.steps) {
      stepNumber++;
      const result = broken ? skippedResult(step, stepNumber) : await runStepOn(cluster, step, stepNumber);
      if (result.actual.startsWith('error: ')) broken = true;
      results.push(result);
      options.onStep?.(result);
      if (stepNumber < scenario.steps.length) await options.between?.();
    }
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    await cluster.close();
  }
  return results;
}

async function runStepOn(cluster: LiveScenarioCluster, step: Step, number: number): Promise<StepResult> {
  noteNarration(cluster, step);
  if (step.kind === 'narrate') return { step, number, actual: '', ok: true, skipped: false, failure: '' };
  let actual: string;
  try {
    actual = (await cluster.run(step.command)).trim();
  } catch (err) {
    actual = `error: ${(err as Error).message}`;
  }
  return judged(step, number, actual);
}

function skippedResult(step: Step, number: number): StepResult {
  return { step, number, actual: '', ok: true, skipped: true, failure: '' };
}

function runStep(cluster: ScenarioCluster, step: Step, number: number): StepResult {
  noteNarration(cluster, step);
  if (step.kind === 'narrate') return { step, number, actual: '', ok: true, skipped: false, failure: '' };
  let actual: string;
  try {
    actual = cluster.run(step.command).trim();
  } catch (err) {
    actual = `error: ${(err as Error).message}`;
  }
  return judged(step, number, actual);
}

/** A step's comments, or a `narrate` line, as a note beside the trace's diagram. */
function noteNarration(cluster: { note(text: string): void }, step: Step): void {
  const narration = [
    ...step.comments.map((c) => c.replace(/^#\s?/, '')),
    ...(step.kind === 'narrate' ? [step.text] : []),
  ].join(' ');
  if (narration !== '') cluster.note(narration);
}

function judged(step: CommandStep, number: number, actual: string): StepResult {
  const failure = judge(step, actual);
  return { step, number, actual, ok: failure === '', skipped: false, failure };
}

/** What disagrees between a step's trace and what the file expects of it, or empty. */
export function judge(step: CommandStep, actual: string): string {
  const problems: string[] = [];
  if (step.expected !== null && actual !== step.expected) problems.push(diffTraces(step.expected, actual));
  for (const e of step.expects) if (!expectationMet(e, actual)) problems.push(`expected a line matching: ${e}`);
  return problems.join('\n');
}

/**
 * The expected and actual traces line by line: `  ` for a line both have at
 * that place, `- ` for the expected one and `+ ` for the actual one where they
 * differ. A line-by-line view is enough here: a step prints a handful of
 * lines, and a reader sees at once where the two part.
 */
export function diffTraces(expected: string, actual: string): string {
  const want = expected === '' ? [] : expected.split('\n');
  const got = actual === '' ? [] : actual.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] === got[i]) lines.push(`  ${want[i]}`);
    else {
      if (want[i] !== undefined) lines.push(`- ${want[i]}`);
      if (got[i] !== undefined) lines.push(`+ ${got[i]}`);
    }
  }
  return lines.join('\n');
}
