/**
 * What one simulated schedule is asked to run (`SimOptions`, with the runtime
 * bugs it may plant) and what it reports (`SimResult`), and how a seed's
 * swarm draw fills in the options the caller left open.
 */
import type { NodeId, PlantedBugs, Protocol } from '../core/types.js';
import type { InputRecorder } from '../node/input-log.js';
import type { DiskFaultKind } from './disk-faults.js';
import type { FaultProfile } from './profile.js';
import type { SwarmChoice, SwarmSettings } from './swarm.js';

/** Bugs planted in the runtime around the core (the core's own are in PlantedBugs). */
export interface SimBugs {
  /** Restart drops the acceptor's promise records. */
  readonly forgetPromiseOnRestart?: boolean;
  /** Messages leave before the state they reflect is persisted (the Ready contract reversed). */
  readonly replyBeforePersist?: boolean;
  /** Every incarnation of a replica numbers its requests from 1 in the same session (the first wave's bug). */
  readonly restartRequestNumbering?: boolean;
  /**
   * Basic: a learner's chosen record is written lazily, never waited for, and
   * dies with the incarnation if no later write carries it (the bug regression
   * seeds 30504 and 37638 were recorded for, commit 26c43da).
   */
  readonly lazyBasicChosen?: boolean;
  /** A replica whose data directory fails its checks at a start (disk-faults.ts) starts anyway and votes. */
  readonly amnesia?: boolean;
  /** The log acknowledges a write before it is fsynced: a process crash keeps it, a power loss does not. */
  readonly ackBeforeFsync?: boolean;
}

export interface SimOptions {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly seed: number;
  /** Fixed fault settings; by default each seed draws its own. */
  readonly profile?: FaultProfile;
  readonly clients?: number;
  readonly keys?: number;
  readonly faultPhaseMs?: number;
  readonly livenessBoundMs?: number;
  readonly opsAfterHeal?: number;
  readonly bugs?: PlantedBugs;
  readonly simBugs?: SimBugs;
  readonly backoff?: boolean;
  readonly traceLines?: number;
  /**
   * Where the schedule's whole trace goes, one JSON line per call, in the
   * format of src/trace/format.ts (`paxos sim --seed S --trace FILE`). Without
   * it nothing is recorded and no trace text is built.
   */
  readonly traceSink?: (line: string) => void;
  /** Only proposals (no reads), each to a fixed node: the duelling-proposers experiments use this. */
  readonly proposers?: readonly NodeId[];
  /** Every node's ticks fire at the same instants, so only the cores' own randomness breaks ties. */
  readonly alignedTicks?: boolean;
  /** Multi: the horizon in slots of the replicas' own sessions (small values exercise expiry). */
  readonly sessionHorizonSlots?: number;
  /** Multi: registered client sessions the table holds (small values exercise eviction). */
  readonly maxSessions?: number;
  /** Multi: slots between snapshots; by default each seed draws a small number, so schedules compact often. */
  readonly snapshotEverySlots?: number;
  /**
   * Multi: an administrator adds, removes and replaces replicas during the
   * fault phase (sometimes two changes at once). By default every odd seed does.
   */
  readonly membershipChanges?: boolean;
  /** Every incarnation's core inputs and Ready digests, for `paxos replay`'s tests: the recorder each boot gets. */
  readonly inputRecorder?: (node: NodeId, incarnation: number) => InputRecorder;
  /**
   * Swarm testing (`swarm.ts`): the seed draws its configuration too (cluster
   * size when asked, horizon, snapshots, timers, batch, faults, stale traffic,
   * clients' habits). What `fixed` names is taken instead of drawn; options
   * above that say the same (profile, horizon, snapshots, membership) win.
   */
  readonly swarm?: SwarmChoice;
  /** Storage faults at crashes (disk-faults.ts); by default those the swarm drew, else none. */
  readonly diskFaults?: readonly DiskFaultKind[];
  /** Multi: whether a replica a start finds damaged is recovered (`paxos recover`) or stays out; by default drawn per seed. */
  readonly recoverDamaged?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly chosen: number;
  readonly messages: number;
  readonly opsCompleted: number;
  readonly opsOpen: number;
  /** The linearizability search gave up on some key: neither a pass nor a violation. */
  readonly undecided?: string;
  readonly virtualMs: number;
  /** Log compactions (Multi: each with a snapshot) and snapshots installed from a peer (Multi only). */
  readonly snapshots?: { readonly taken: number; readonly installed: number };
  /** Multi: configuration changes asked for, and those that took effect (the run's last epoch). */
  readonly membership?: { readonly asked: number; readonly epochs: number };
  readonly profile: string;
  /** The liveness bound, when the caller fixed it (`--liveness-bound`) instead of the drawn profile's. */
  readonly livenessBoundMs?: number;
  /** Storage faults that changed a disk, by kind, and replicas a start then kept out (only when some were on). */
  readonly diskFaults?: { readonly applied: Readonly<Record<string, number>>; readonly keptOut: number };
  /** With swarm drawing: every setting the seed drew (printed as flags with a failing seed). */
  readonly swarm?: SwarmSettings;
  readonly trace: readonly string[];
}

/** The options a run uses: the caller's, with what the seed's swarm draw fills in where the caller named nothing. */
export function withSwarm(options: SimOptions, swarm: SwarmSettings | null): SimOptions {
  return swarm === null
    ? options
    : {
        ...options,
        clusterSize: swarm.clusterSize,
        profile: options.profile ?? swarm.profile,
        ...(options.protocol === 'multi'
          ? {
              sessionHorizonSlots: options.sessionHorizonSlots ?? swarm.sessionHorizonSlots,
              maxSessions: options.maxSessions ?? swarm.maxSessions,
            }
          : {}),
        snapshotEverySlots: options.snapshotEverySlots ?? swarm.snapshotEverySlots,
        membershipChanges: options.membershipChanges ?? swarm.membershipChanges,
      };
}

/**
 * The settings a run used, to print with it: the seed's draw, with what the caller's options fixed instead (a plant
 * forces membership changes on or off whatever the seed drew), so the reproduce line runs the same schedule.
 */
export function settingsUsed(swarm: SwarmSettings, opts: SimOptions, membershipChanges: boolean): SwarmSettings {
  return {
    ...swarm,
    clusterSize: opts.clusterSize,
    profile: opts.profile ?? swarm.profile,
    sessionHorizonSlots: opts.sessionHorizonSlots ?? swarm.sessionHorizonSlots,
    maxSessions: opts.maxSessions ?? swarm.maxSessions,
    snapshotEverySlots: opts.snapshotEverySlots ?? swarm.snapshotEverySlots,
    membershipChanges,
    diskFaults: opts.diskFaults ?? swarm.diskFaults,
  };
}
