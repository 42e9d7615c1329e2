/**
 * Runs many seeded schedules and sums them up. Each schedule is independent
 * and fully determined by its seed, so a failure is reproduced by running
 * that one seed again.
 */
import type { PlantedBugs, Protocol } from '../core/types.js';
import { type SwarmFixed, swarmFlags } from './swarm.js';
import { runSchedule, type SimBugs, type SimResult } from './world.js';

export interface BatchOptions {
  readonly protocol: Protocol;
  /** Replicas per schedule; with swarm drawing it may be left out, and each seed draws 3 to 7. */
  readonly clusterSize?: number;
  readonly firstSeed: number;
  /**
   * Swarm testing: each seed draws its configuration as well as its schedule
   * (`swarm.ts`), except what `fixed` names. Off unless asked, so every older
   * call site runs the schedules it always ran; `paxos sim` and the seeds tests ask.
   */
  readonly swarm?: { readonly fixed?: SwarmFixed } | boolean;
  readonly seeds: number;
  readonly bugs?: PlantedBugs;
  readonly simBugs?: SimBugs;
  /** Multi: whether schedules change the configuration; by default every odd seed does. */
  readonly membershipChanges?: boolean;
  /** Stop after this many failing seeds (default: keep going). */
  readonly maxFailures?: number;
  /** The time clients get after the heal, fixed instead of following the drawn profile. */
  readonly livenessBoundMs?: number;
  readonly onSchedule?: (result: SimResult, index: number) => void;
  /** Where the trace goes, one JSON line per call; meant for a batch of one seed (`paxos sim --seed S --trace FILE`). */
  readonly traceSink?: (line: string) => void;
}

export interface BatchResult {
  readonly schedules: number;
  readonly chosen: number;
  readonly messages: number;
  readonly opsCompleted: number;
  /** Multi: snapshots taken (each a log compaction) and installed from a peer, over all schedules. */
  readonly snapshots: { readonly taken: number; readonly installed: number };
  /** Multi: schedules that changed the configuration, changes asked for, and epochs entered in all. */
  readonly membership: { readonly schedules: number; readonly asked: number; readonly epochs: number };
  /** Storage faults: schedules that had any on, faults that changed a disk by kind, replicas kept out by one. */
  readonly diskFaults: {
    readonly schedules: number;
    readonly applied: Readonly<Record<string, number>>;
    readonly keptOut: number;
  };
  /** Schedules whose history the linearizability search gave up on: neither passed nor failed. */
  readonly undecided: readonly SimResult[];
  readonly failures: readonly SimResult[];
  readonly seconds: number;
}

export function runSeeds(opts: BatchOptions): BatchResult {
  const tally = new Tally();
  for (let i = 0; i < opts.seeds; i++) {
    if (!tally.add(runOne(opts, i), i, opts)) break;
  }
  return tally.result();
}

export interface AsyncBatchOptions extends BatchOptions {
  /** Checked between schedules: once it returns true the batch stops and returns what it has done so far. */
  readonly interrupted?: () => boolean;
  /** Longest stretch of synchronous work, in milliseconds, before the loop lets the event loop run (default 50). */
  readonly yieldEveryMs?: number;
}

export interface AsyncBatchResult extends BatchResult {
  /** True when the batch stopped early because `interrupted()` said so. */
  readonly interrupted: boolean;
}

/**
 * The same batch as `runSeeds`, but it hands control back to the event loop
 * every `yieldEveryMs`: a schedule is synchronous work, and without these
 * pauses a signal handler (Ctrl-C) would never get to run until the end.
 */
export async function runSeedsAsync(opts: AsyncBatchOptions): Promise<AsyncBatchResult> {
  const tally = new Tally();
  const yieldEveryMs = opts.yieldEveryMs ?? 50;
  let lastYield = performance.now();
  let stopped = false;
  for (let i = 0; i < opts.seeds; i++) {
    if (performance.now() - lastYield >= yieldEveryMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (opts.interrupted?.() === true) {
      stopped = true;
      break;
    }
    if (!tally.add(runOne(opts, i), i, opts)) break;
  }
  return { ...tally.result(), interrupted: stopped };
}

function runOne(opts: BatchOptions, i: number): SimResult {
  const swarm = opts.swarm === undefined || opts.swarm === false ? undefined : opts.swarm === true ? {} : opts.swarm;
  if (swarm === undefined && opts.clusterSize === undefined)
    throw new Error('a batch without swarm drawing needs a cluster size');
  return runSchedule({
    protocol: opts.protocol,
    clusterSize: opts.clusterSize ?? 0,
    seed: opts.firstSeed + i,
    ...(swarm !== undefined
      ? { swarm: { ...(swarm.fixed ? { fixed: swarm.fixed } : {}), drawClusterSize: opts.clusterSize === undefined } }
      : {}),
    ...(opts.bugs ? { bugs: opts.bugs } : {}),
    ...(opts.simBugs ? { simBugs: opts.simBugs } : {}),
    ...(opts.traceSink ? { traceSink: opts.traceSink } : {}),
    ...(opts.membershipChanges !== undefined ? { membershipChanges: opts.membershipChanges } : {}),
    ...(opts.livenessBoundMs !== undefined ? { livenessBoundMs: opts.livenessBoundMs } : {}),
  });
}

/** The running sums of a batch, shared by the synchronous and the cooperative loop so both count alike. */
class Tally {
  private readonly started = performance.now();
  private readonly failures: SimResult[] = [];
  private readonly undecided: SimResult[] = [];
  private schedules = 0;
  private chosen = 0;
  private messages = 0;
  private opsCompleted = 0;
  private readonly snapshots = { taken: 0, installed: 0 };
  private readonly membership = { schedules: 0, asked: 0, epochs: 0 };
  private readonly disk = { schedules: 0, applied: {} as Record<string, number>, keptOut: 0 };

  /** Counts one schedule; returns false when the batch should stop (enough failures). */
  add(result: SimResult, index: number, opts: BatchOptions): boolean {
    this.schedules++;
    this.chosen += result.chosen;
    this.messages += result.messages;
    this.opsCompleted += result.opsCompleted;
    this.snapshots.taken += result.snapshots?.taken ?? 0;
    this.snapshots.installed += result.snapshots?.installed ?? 0;
    if (result.membership !== undefined) {
      this.membership.schedules++;
      this.membership.asked += result.membership.asked;
      this.membership.epochs += result.membership.epochs;
    }
    if (result.diskFaults !== undefined) {
      this.disk.schedules++;
      this.disk.keptOut += result.diskFaults.keptOut;
      for (const [kind, n] of Object.entries(result.diskFaults.applied))
        this.disk.applied[kind] = (this.disk.applied[kind] ?? 0) + n;
    }
    if (result.ok && result.undecided !== undefined) this.undecided.push(result);
    opts.onSchedule?.(result, index);
    if (result.ok) return true;
    this.failures.push(result);
    return opts.maxFailures === undefined || this.failures.length < opts.maxFailures;
  }

  result(): BatchResult {
    return {
      schedules: this.schedules,
      chosen: this.chosen,
      messages: this.messages,
      opsCompleted: this.opsCompleted,
      snapshots: { ...this.snapshots },
      membership: { ...this.membership },
      diskFaults: { ...this.disk, applied: { ...this.disk.applied } },
      undecided: this.undecided,
      failures: this.failures,
      seconds: (performance.now() - this.started) / 1000,
    };
  }
}

/** The command that runs this schedule again; with swarm drawing, every drawn setting as the flag that fixes it. */
export function reproduction(r: SimResult): string {
  const bound = r.livenessBoundMs === undefined ? '' : ` --liveness-bound ${r.livenessBoundMs}`;
  const line = `paxos sim --protocol ${r.protocol} -n ${r.clusterSize} --seed ${r.seed}${bound}`;
  return r.swarm === undefined ? `${line} --no-swarm` : `${line} ${swarmFlags(r.swarm, r.protocol)}`;
}
