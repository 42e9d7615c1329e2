/**
 * The `paxos explore` service: searches every schedule of a small cluster
 * within the bounds, prints a summary, and for a violation the shrunk
 * counterexample as a scenario file (checked to reproduce under the scenario
 * runner before it is written).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Protocol } from '../../core/types.js';
import { OperatingError } from '../../errors.js';
import type { ChangeKind } from '../../explore/changes.js';
import { type Counterexample, scenarioText, shrink } from '../../explore/counterexample.js';
import { commandsOf, runInteractive } from '../../explore/interactive.js';
import { type Progress, type SearchResult, search } from '../../explore/search.js';
import { type ExploreSettings, ExploreWorld, type Fault } from '../../explore/world.js';
import { runScenario } from '../../scenario/run.js';
import { parseScenario } from '../../scenario/script.js';

export interface ExploreCommandOptions {
  readonly protocol: Protocol;
  readonly nodes: number;
  readonly proposals: number;
  /** Configuration changes, one kind each (empty: none). */
  readonly changes: readonly ChangeKind[];
  readonly faults: readonly Fault[];
  readonly crashes: number;
  readonly depth: number;
  readonly maxStates: number;
  readonly timeMs: number;
  /** A planted bug's name, written into the scenario as its `option plant` line. */
  readonly plant?: string;
  /** Where the counterexample's scenario goes; without it, stdout after the summary. */
  readonly outFile?: string;
  readonly json: boolean;
  /** Check "nothing stuck" at every distinct state. */
  readonly liveness: boolean;
  /** The command line as typed, for the scenario's first comment. */
  readonly commandLine: string;
  readonly out: (line: string) => void;
  readonly progress?: (p: Progress) => void;
}

export function exploreSettings(o: ExploreCommandOptions): ExploreSettings {
  return {
    protocol: o.protocol,
    nodes: o.nodes,
    proposals: o.proposals,
    faults: o.faults,
    crashes: o.crashes,
    setup: o.plant === undefined ? [] : [`option plant ${o.plant}`],
    ...(o.changes.length > 0 ? { changes: o.changes } : {}),
  };
}

/** Runs the search; 0 when no violation was found within the bounds, 1 when one was. */
export function runExploreCommand(o: ExploreCommandOptions & { readonly from?: string }): number {
  const settings = exploreSettings(o);
  const start = o.from === undefined ? [] : startOf(settings, o.from);
  if (o.from !== undefined)
    try {
      ExploreWorld.replay(settings, start);
    } catch (err) {
      throw new OperatingError(`${o.from}: its commands do not replay under these flags: ${(err as Error).message}`);
    }
  const result = searchFrom(o, settings, start);
  const found = result.counterexample;
  const ce =
    found === null
      ? null
      : shrink(settings, { commands: found.steps.map((s) => s.command), violation: found.violation });
  const text = ce === null ? null : scenarioText(settings, ce, { foundBy: o.commandLine });
  const reproduced = text === null ? null : reproduces(text);
  if (text !== null && o.outFile !== undefined) writeFileSync(o.outFile, text);
  if (o.json) o.out(JSON.stringify(jsonSummary(o, result, ce, text, reproduced)));
  else printSummary(o, result, ce, text, reproduced);
  return ce === null ? 0 : 1;
}

function searchFrom(o: ExploreCommandOptions, settings: ExploreSettings, start: readonly string[]): SearchResult {
  return search({
    settings,
    bounds: { depth: o.depth, maxStates: o.maxStates, timeMs: o.timeMs, liveness: o.liveness },
    now: () => performance.now(),
    start,
    ...(o.progress !== undefined ? { onProgress: o.progress } : {}),
  });
}

/** Whether the scenario runner, given the file, prints every step's trace as written. */
export function reproduces(text: string): { ok: boolean; steps: number; firstDifference: string } {
  const results = runScenario(parseScenario(text));
  const bad = results.find((r) => !r.ok || r.skipped);
  return {
    ok: bad === undefined,
    steps: results.length,
    firstDifference: bad === undefined ? '' : `step ${bad.number} (${bad.step.kind}): ${bad.failure}`,
  };
}

export function limitSentence(r: SearchResult, o: { depth: number }): string {
  switch (r.limit) {
    case 'none':
      return r.counterexample === null
        ? `the whole state space within depth ${o.depth} was explored (no state left to expand)`
        : 'stopped at the first violation';
    case 'depth':
      return `every schedule up to depth ${o.depth} was explored; deeper states were left (--depth)`;
    case 'max-states':
      return `stopped at --max-states while expanding depth ${r.depthCompleted + 1}`;
    case 'time':
      return `stopped at --time while expanding depth ${r.depthCompleted + 1}`;
  }
}

function printSummary(
  o: ExploreCommandOptions,
  r: SearchResult,
  ce: Counterexample | null,
  text: string | null,
  reproduced: ReturnType<typeof reproduces> | null,
): void {
  const rate = r.elapsedMs > 0 ? Math.round((r.explored * 1000) / r.elapsedMs) : r.explored;
  o.out(
    `${o.protocol} paxos, ${o.nodes} replicas, ${o.proposals} proposals${o.changes.length > 0 ? `, changes ${o.changes.join(',')}` : ''}, faults ${o.faults.join(',') || 'none'}${o.plant ? `, plant ${o.plant}` : ''}${o.liveness ? ', nothing-stuck checked at every state' : ''}`,
  );
  o.out(
    `states explored ${r.explored}, distinct ${r.distinct}, depth completed ${r.depthCompleted} (reached ${r.depthReached}), ${rate} states/s, ${(r.elapsedMs / 1000).toFixed(1)}s`,
  );
  o.out(limitSentence(r, o));
  if (ce === null || text === null) {
    o.out('no violation within these bounds');
    return;
  }
  o.out(`VIOLATION: ${ce.violation}`);
  o.out(`counterexample: ${ce.commands.length} steps (found at depth ${r.counterexample?.steps.length ?? 0}):`);
  for (const [i, c] of ce.commands.entries()) o.out(`  ${String(i + 1).padStart(2)}. ${c}`);
  o.out(
    reproduced?.ok
      ? `the scenario runner reproduces it: all ${reproduced.steps} steps print the traces written`
      : `the scenario runner does NOT reproduce it: ${reproduced?.firstDifference}`,
  );
  if (o.outFile !== undefined)
    o.out(`scenario written to ${o.outFile}; run it with: paxos scenario run --sim ${o.outFile}`);
  else o.out(`scenario (save it and run: paxos scenario run --sim FILE):\n\n${text}`);
}

function jsonSummary(
  o: ExploreCommandOptions,
  r: SearchResult,
  ce: Counterexample | null,
  text: string | null,
  reproduced: ReturnType<typeof reproduces> | null,
): unknown {
  return {
    protocol: o.protocol,
    nodes: o.nodes,
    proposals: o.proposals,
    ...(o.changes.length > 0 ? { changes: o.changes } : {}),
    faults: o.faults,
    crashes: o.crashes,
    plant: o.plant ?? null,
    liveness: o.liveness,
    bounds: { depth: o.depth, maxStates: o.maxStates, timeMs: o.timeMs },
    explored: r.explored,
    distinct: r.distinct,
    depthCompleted: r.depthCompleted,
    depthReached: r.depthReached,
    elapsedMs: Math.round(r.elapsedMs),
    statesPerSecond: r.elapsedMs > 0 ? Math.round((r.explored * 1000) / r.elapsedMs) : null,
    limit: r.limit,
    violation: ce?.violation ?? null,
    counterexample: ce === null ? null : { steps: ce.commands, foundAtDepth: r.counterexample?.steps.length ?? 0 },
    reproduced: reproduced?.ok ?? null,
    scenarioFile: o.outFile ?? null,
    scenario: o.outFile === undefined ? text : null,
  };
}

/**
 * `--interactive`: the state graph walked by hand from the initial state or
 * from the end of a scenario file (`--from`); 1 when the path met a violation.
 */
export async function runExploreInteractive(
  o: ExploreCommandOptions & { readonly from?: string; readonly lines: AsyncIterable<string> },
): Promise<number> {
  const settings = exploreSettings(o);
  const start = o.from === undefined ? [] : startOf(settings, o.from);
  return runInteractive({ settings, start, lines: o.lines, out: o.out });
}

/** The explored commands of the scenario file `--from` names (after the setup lines these flags give). */
function startOf(settings: ExploreSettings, file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OperatingError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return commandsOf(settings, text);
  } catch (err) {
    throw new OperatingError(`${file}: ${(err as Error).message}`);
  }
}
