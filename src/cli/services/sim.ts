/** The `paxos sim` service: runs seeds, prints a summary, and for each failing seed a reproduction and its trace. */
import { randomInt } from 'node:crypto';
import type { Protocol } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import { type AsyncBatchResult, reproduction, runSeedsAsync } from '../../sim/batch.js';
import type { Plant } from '../../sim/planted.js';
import type { SwarmFixed } from '../../sim/swarm.js';
import type { SimResult } from '../../sim/world.js';
import { openTraceOutput } from './trace-file.js';

export interface SimCommandOptions {
  readonly protocol: Protocol;
  /** Replicas per schedule; with swarm drawing it may be left out, and each seed draws 3 to 7. */
  readonly clusterSize?: number;
  /** Swarm testing: each seed draws its configuration, except these settings. Without it, the classic schedules. */
  readonly swarm?: SwarmFixed;
  readonly seeds: number;
  readonly seed?: number;
  readonly from?: number;
  readonly json: boolean;
  readonly plant?: Plant;
  /** The time clients get after the heal, fixed instead of following the drawn network and disks. */
  readonly livenessBoundMs?: number;
  /** With `seed`: write that schedule's whole trace to this file, or to stdout for `-`. */
  readonly trace?: string;
  readonly out: (line: string) => void;
  readonly progress?: (done: number, total: number) => void;
  /** Checked between schedules: true once the user pressed Ctrl-C, so the run stops and reports what it has. */
  readonly interrupted?: () => boolean;
}

/** The conventional exit code of a process stopped by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT = 130;

export async function runSimCommand(o: SimCommandOptions): Promise<number> {
  if (o.trace !== undefined && o.seed === undefined)
    throw new UsageError('--trace records one schedule, so it needs --seed N rather than a range of seeds');
  const firstSeed = o.seed ?? o.from ?? randomInt(1, 2 ** 31);
  const seeds = o.seed !== undefined ? 1 : o.seeds;
  const traceOut = o.trace === undefined ? null : openTraceOutput(o.trace);
  let traceEvents: number | undefined;
  const batch = await runSeedsAsync({
    protocol: o.protocol,
    ...(o.clusterSize !== undefined ? { clusterSize: o.clusterSize } : {}),
    firstSeed,
    seeds,
    ...(o.swarm !== undefined ? { swarm: { fixed: o.swarm } } : {}),
    maxFailures: o.plant ? 1 : 20,
    ...(o.plant?.bugs ? { bugs: o.plant.bugs } : {}),
    ...(o.plant?.simBugs ? { simBugs: o.plant.simBugs } : {}),
    ...(o.plant ? { membershipChanges: o.plant.membershipChanges === true } : {}),
    ...(o.livenessBoundMs !== undefined ? { livenessBoundMs: o.livenessBoundMs } : {}),
    onSchedule: (_r, i) => o.progress?.(i + 1, seeds),
    ...(o.interrupted ? { interrupted: o.interrupted } : {}),
    ...(traceOut !== null ? { traceSink: traceOut.write } : {}),
    // Closed whatever happens, so what was recorded before a crash of the command itself is on disk.
  }).finally(() => {
    traceEvents = traceOut?.close();
  });
  const violations = batch.failures.length;
  if (o.json) {
    o.out(
      JSON.stringify({
        protocol: o.protocol,
        clusterSize: o.clusterSize ?? 'drawn 3-7',
        firstSeed,
        schedules: batch.schedules,
        interrupted: batch.interrupted,
        chosen: batch.chosen,
        snapshots: batch.snapshots,
        ...(batch.diskFaults.schedules > 0 ? { diskFaults: batch.diskFaults } : {}),
        violations,
        undecided: batch.undecided.map((u) => ({ seed: u.seed, reason: u.undecided })),
        seconds: round(batch.seconds),
        failures: batch.failures.map((f) => ({
          seed: f.seed,
          violation: f.violation,
          ...(f.swarm ? { settings: f.swarm } : {}),
          reproduce: `${reproduction(f)}${o.plant ? ` --plant ${o.plant.name}` : ''}`,
        })),
        ...(o.trace !== undefined ? { trace: { file: o.trace, events: traceEvents } } : {}),
      }),
    );
  } else {
    if (batch.interrupted)
      o.out(`interrupted after ${batch.schedules} of ${seeds} schedules; the summary covers those`);
    printSummary(o, firstSeed, batch);
    for (const u of batch.undecided.slice(0, 3))
      o.out(`UNDECIDED (seed ${u.seed}): ${u.undecided}; not counted as a pass`);
    for (const f of batch.failures.slice(0, 3)) printFailure(o.out, f, o.plant ? ` --plant ${o.plant.name}` : '');
    if (o.trace !== undefined) o.out(traceWritten(o.trace, traceEvents ?? 0));
  }
  // Ctrl-C wins over the other outcomes so scripts see the run was cut short;
  // an undecided history is not a pass: the run says so with its own exit code.
  if (batch.interrupted) return INTERRUPTED_EXIT;
  return violations > 0 ? 1 : batch.undecided.length > 0 ? 3 : 0;
}

function traceWritten(target: string, events: number): string {
  const where = target === '-' ? 'stdout' : target;
  return `wrote the trace (${events} events) to ${where}; draw it with paxos trace ${target === '-' ? 'FILE' : target} --svg OUT.svg`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function printSummary(o: SimCommandOptions, firstSeed: number, batch: AsyncBatchResult): void {
  const { schedules, chosen, seconds, opsCompleted: ops } = batch;
  const violations = batch.failures.length;
  const undecided = batch.undecided.length;
  // A Ctrl-C can land before the first schedule finishes; `seeds 7..6` would read as a bug.
  const seedText =
    schedules === 0
      ? `no seeds run (first would have been ${firstSeed})`
      : schedules === 1
        ? `seed ${firstSeed}`
        : `seeds ${firstSeed}..${firstSeed + schedules - 1}`;
  const size =
    o.clusterSize === undefined
      ? 'each seed drawing its size (3-7) and settings'
      : `${o.clusterSize} replicas${o.swarm !== undefined ? ', each seed drawing its settings' : ''}`;
  o.out(`${o.protocol} paxos, ${size}, ${seedText}${o.plant ? `, with a planted bug: ${o.plant.what}` : ''}`);
  o.out(
    `schedules ${schedules}   chosen ${chosen}   client ops completed ${ops}   violations ${violations}   undecided ${undecided}   ${round(seconds)}s`,
  );
  o.out(
    o.protocol === 'multi'
      ? `log compactions ${batch.snapshots.taken} (each with a snapshot)   snapshots installed from a peer ${batch.snapshots.installed}`
      : `log compactions ${batch.snapshots.taken}`,
  );
  const m = batch.membership;
  if (m.schedules > 0)
    o.out(`membership changes in ${m.schedules} schedules: ${m.asked} asked, ${m.epochs} configurations entered`);
  const d = batch.diskFaults;
  if (d.schedules > 0) {
    const kinds = Object.entries(d.applied).map(([kind, n]) => `${kind} ${n}`);
    o.out(
      `disk faults in ${d.schedules} schedules: ${kinds.join(', ') || 'none applied'}; replicas kept out by a damaged disk ${d.keptOut}`,
    );
  }
}

function printFailure(out: (line: string) => void, f: SimResult, plantFlag: string): void {
  out('');
  out(`VIOLATION (seed ${f.seed}): ${f.violation}`);
  out(`  faults: ${f.profile}`);
  if (f.swarm !== undefined)
    out(
      `  drawn: ${f.clusterSize} replicas, horizon ${f.swarm.sessionHorizonSlots}, snapshot every ${f.swarm.snapshotEverySlots}, election ${f.swarm.electionTimeoutTicks} ticks, heartbeat ${f.swarm.heartbeatTicks}, batch ${f.swarm.maxBatchEntries}, faults ${f.swarm.faults.join(',') || 'none'}, disk faults ${f.swarm.diskFaults.join(',') || 'none'}`,
    );
  out(`  reproduce: ${reproduction(f)}${plantFlag}`);
  out(`  the last ${f.trace.length} steps before it:`);
  for (const line of f.trace) out(`    ${line}`);
}
