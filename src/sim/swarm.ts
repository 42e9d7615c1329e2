/**
 * Swarm testing (Groce et al., ISSTA 2012; FoundationDB's BUGGIFY;
 * TigerBeetle's VOPR): a seed draws its configuration as well as its
 * schedule. Which faults are on, how long the session table remembers, how
 * often replicas compact, how fast they elect and heartbeat, how much one
 * accept carries, how hostile the network is, whether the administrator acts
 * on a stale view and how clients misbehave: all of it comes from the seed's
 * own stream, drawn before anything else, so one seed reproduces the whole
 * run. Any setting can be fixed instead (`paxos sim --session-horizon 4 …`),
 * and a failing seed prints every drawn setting as those flags.
 */
import { Random } from '../core/random.js';
import type { Protocol } from '../core/types.js';
import { DISK_FAULT_KINDS, type DiskFaultKind } from './disk-faults.js';
import { drawPauses } from './pauses.js';
import type { FaultProfile } from './profile.js';
import { drawShapes, type SwarmShapes, shapeFlags } from './swarm-shapes.js';

/** The fault kinds a seed switches on or off as a whole (off: its rate is zero). */
export const FAULT_KINDS = ['loss', 'dup', 'partition', 'crash', 'mid-ready-crash', 'stale-replay', 'pause'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The kinds drawn from the swarm's stream, 65% each; pause (pauses.ts) is drawn from its own, so no seed's draws moved. */
const SWARM_STREAM_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'pause');

export interface SwarmSettings {
  readonly clusterSize: number;
  /** Multi: the horizon in slots of the replicas' own sessions (those of clients that bring none). */
  readonly sessionHorizonSlots: number;
  /** Multi: registered client sessions the table holds before it evicts the least recently used. */
  readonly maxSessions: number;
  /** Multi: slots between snapshots (Basic: learned keys between compactions). */
  readonly snapshotEverySlots: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  /** Most log entries one accept carries. */
  readonly maxBatchEntries: number;
  /** Loss, duplication, delay (its spread is the reordering), partitions, crashes, disk speed: with the kinds that are off at zero. */
  readonly profile: FaultProfile;
  readonly faults: readonly FaultKind[];
  /** Chance per message sent that the network also replays an old accepted, promise or commit from its sample. */
  readonly staleReplayRate: number;
  /** Multi: chance that an administrator's change is built from an old view of the configuration. */
  readonly staleAdminRate: number;
  /** Chance that a client sends a second attempt of an operation before the first one ends. */
  readonly earlyResubmitRate: number;
  /** Chance that a client retries a finished operation long after, through any replica. */
  readonly lateRetryRate: number;
  /** Multi: chance that a client registers a new session before its next operation (a restarted client library), leaving the old one to be evicted. */
  readonly sessionChurnRate: number;
  /**
   * Multi: clients reuse an identity for another command (with keys and
   * values holding NUL and other odd bytes), as a client library that sends
   * its own session and sequence numbers may (issue 22, 3b and 3c). Drawn
   * from its own stream (`drawReuse`), and the clients' reuse draws from
   * theirs, so a seed with it off runs the schedule it ran before it was drawn.
   */
  readonly reuseIdentities: boolean;
  /** Multi: an administrator changes the configuration during the fault phase. */
  readonly membershipChanges: boolean;
  /** Storage faults at crashes (disk-faults.ts): none, or the kinds this seed has on. */
  readonly diskFaults: readonly DiskFaultKind[];
  /** Shaped faults (swarm-shapes.ts), from their own stream. */
  readonly shapes: SwarmShapes;
}

/** Settings the caller fixes (a profile may be fixed in part). */
export type SwarmFixed = Omit<Partial<SwarmSettings>, 'profile' | 'shapes'> & {
  readonly profile?: Partial<FaultProfile>;
  readonly shapes?: Partial<SwarmShapes>;
  /** `off`: the horizon is the one drawn before small horizons were (a seed recorded before them keeps its schedule). */
  readonly smallHorizons?: 'off';
};

/** What the caller fixes; the rest is drawn. */
export interface SwarmChoice {
  readonly fixed?: SwarmFixed;
  /** The cluster size is drawn (3 to 7) instead of taken from `SimOptions.clusterSize`. */
  readonly drawClusterSize?: boolean;
}

const SWARM_SALT = 0x53574152; // "SWAR"
const REUSE_SALT = 0x52455553; // "REUS"
/** The share of Multi seeds whose clients reuse identities for other commands. */
const REUSE_SEED_SHARE = 0.35;

const HORIZON_SALT = 0x484f525a; // "HORZ"
/** The share of Multi seeds whose replicas forget their own commands within a few slots, and the horizons they draw. */
const SMALL_HORIZON_SHARE = 0.25;
// Not 8: under it a replica a few slots behind on a slow 7-replica network has every command it makes expire until it
// catches up, so clients outwait the liveness bound by design (seed 868 at 7 replicas, snapshots every slot).
const SMALL_HORIZONS = [16, 32, 64, 128] as const;

/**
 * A horizon of a few slots for a Multi seed's replicas' own sessions, or null, from its own stream: a schedule chooses
 * some tens of slots, so only these make a replica forget its own commands, expire late copies and learn that from
 * snapshots (own-sessions.ts). Drawn after the rest existed, so adding it moved no other draw.
 */
export function drawSmallHorizon(seed: number, protocol: Protocol): number | null {
  if (protocol !== 'multi') return null;
  const r = new Random((seed ^ HORIZON_SALT) >>> 0);
  return r.chance(SMALL_HORIZON_SHARE) ? r.pick(SMALL_HORIZONS) : null;
}

/**
 * Whether a Multi seed's clients reuse identities, from its own stream: drawn after every other setting existed, so
 * adding it moved no draw of `drawSwarm`, `drawShapes` or `drawPauses`.
 */
export function drawReuse(seed: number, protocol: Protocol): boolean {
  return protocol === 'multi' && new Random((seed ^ REUSE_SALT) >>> 0).chance(REUSE_SEED_SHARE);
}
const TICK_MS = 10;

/**
 * Everything the seed draws, from its own stream: the same seed always
 * draws the same settings, and fixing one setting leaves the others' draws
 * unchanged (each is drawn whether or not it is then overridden).
 */
export function drawSwarm(seed: number, protocol: Protocol, clusterSize: number, choice: SwarmChoice): SwarmSettings {
  const r = new Random((seed ^ SWARM_SALT) >>> 0);
  const f = choice.fixed ?? {};
  const drawnSize = r.int(3, 7);
  const faultsOn = SWARM_STREAM_KINDS.filter(() => r.chance(0.65));
  const on = (k: FaultKind) => (f.faults ?? faultsOn).includes(k);
  const minDelayMs = r.int(1, 3);
  const delaySpreadMs = r.pick([2, 10, 40, 120]);
  const drawnProfile: FaultProfile = {
    dropRate: r.pick([0.01, 0.05, 0.15, 0.3]),
    duplicateRate: r.pick([0.02, 0.1, 0.25]),
    minDelayMs,
    delaySpreadMs,
    partitionPer100Ms: r.pick([0.03, 0.1]),
    crashPer100Ms: r.pick([0.02, 0.06, 0.15]),
    midReadyCrashRate: r.pick([0.002, 0.01]),
    writeMinMs: r.pick([0.05, 0.3, 1, 4]),
    writeSpreadMs: r.pick([0.1, 1, 5, 20]),
  };
  const base: FaultProfile = { ...drawnProfile, ...f.profile };
  const profile: FaultProfile = {
    ...base,
    dropRate: on('loss') ? base.dropRate : 0,
    duplicateRate: on('dup') ? base.duplicateRate : 0,
    partitionPer100Ms: on('partition') ? base.partitionPer100Ms : 0,
    crashPer100Ms: on('crash') ? base.crashPer100Ms : 0,
    midReadyCrashRate: on('mid-ready-crash') ? base.midReadyCrashRate : 0,
  };
  // Only a replica's own commands follow the horizon (clients that retry elsewhere register sessions), and only
  // that replica sends them; small horizons answer more of them unknown. A quarter of Multi seeds replace this draw
  // with a horizon of a few slots (`drawSmallHorizon`).
  const sessionHorizonSlots = r.pick([4096, 16_384, 65_536]);
  const snapshotEverySlots = r.chance(0.5) ? r.int(1, 8) : r.int(9, 64);
  // An election timeout shorter than a round trip on the slowest network would elect forever: it is at least that.
  const roundTripTicks = Math.ceil((2 * (profile.minDelayMs + profile.delaySpreadMs)) / TICK_MS);
  const electionTimeoutTicks = Math.max(r.int(6, 40), roundTripTicks + 2);
  const heartbeatTicks = r.int(1, Math.max(1, Math.floor(electionTimeoutTicks / 3)));
  const maxBatchEntries = r.pick([1, 2, 4, 16, 256]);
  const staleReplayRate = r.pick([0.005, 0.02, 0.05]);
  const staleAdminRate = r.pick([0, 0.2, 0.5]);
  const earlyResubmitRate = r.pick([0, 0.1, 0.3]);
  const lateRetryRate = r.pick([0, 0.05, 0.2]);
  // Drawn last, so adding them moved no earlier draw: half the seeds have storage faults, each kind with 60%.
  const diskOn = r.chance(0.5);
  const diskKinds = DISK_FAULT_KINDS.filter(() => r.chance(0.6));
  // Membership seeds draw every kind too: a damaged voter is replaced by the administrator or, in the seeds whose
  // operator recovers (disk-faults.ts), re-admitted. Default seeds 33015 and 33101 at 3 replicas lost liveness with
  // every kind drawn until a voter that heard of a later epoch could campaign once catching up stalled (epochs.ts).
  const membership = protocol === 'multi' && (f.membershipChanges ?? seed % 2 === 1);
  // Drawn after the disk faults, so the draws above are those of the seeds before registered sessions. Small tables evict
  // often: the simulator's clients and administrator hold a few sessions at once, and each is told "evicted".
  const maxSessions = r.pick([2, 3, 4, 8, 1024]);
  const sessionChurnRate = r.pick([0, 0.1, 0.3]);
  const election = f.electionTimeoutTicks ?? electionTimeoutTicks;
  const pauses = drawPauses(seed, election * TICK_MS);
  const faults = f.faults ?? (pauses.on ? [...faultsOn, 'pause' as const] : faultsOn);
  return {
    clusterSize: f.clusterSize ?? (choice.drawClusterSize ? drawnSize : clusterSize),
    sessionHorizonSlots:
      f.sessionHorizonSlots ??
      (f.smallHorizons === 'off' ? null : drawSmallHorizon(seed, protocol)) ??
      sessionHorizonSlots,
    maxSessions: f.maxSessions ?? maxSessions,
    snapshotEverySlots: f.snapshotEverySlots ?? snapshotEverySlots,
    electionTimeoutTicks: election,
    heartbeatTicks: f.heartbeatTicks ?? Math.min(heartbeatTicks, Math.max(1, Math.floor(election / 3))),
    maxBatchEntries: f.maxBatchEntries ?? maxBatchEntries,
    profile,
    faults,
    staleReplayRate: on('stale-replay') ? (f.staleReplayRate ?? staleReplayRate) : 0,
    staleAdminRate: protocol === 'multi' ? (f.staleAdminRate ?? staleAdminRate) : 0,
    earlyResubmitRate: f.earlyResubmitRate ?? earlyResubmitRate,
    lateRetryRate: f.lateRetryRate ?? lateRetryRate,
    sessionChurnRate: protocol === 'multi' ? (f.sessionChurnRate ?? sessionChurnRate) : 0,
    reuseIdentities: protocol === 'multi' && (f.reuseIdentities ?? drawReuse(seed, protocol)),
    membershipChanges: membership,
    diskFaults: f.diskFaults ?? (diskOn ? diskKinds : []),
    shapes: drawShapes(seed, protocol, f.shapes, pauses),
  };
}

/** The settings as the `paxos sim` flags that fix them: printed with a failing seed, they reproduce it exactly. */
export function swarmFlags(s: SwarmSettings, protocol: Protocol): string {
  const p = s.profile;
  const flags = [
    protocol === 'multi' ? `--session-horizon ${s.sessionHorizonSlots}` : '',
    protocol === 'multi' ? `--max-sessions ${s.maxSessions}` : '',
    `--snapshot-every ${s.snapshotEverySlots}`,
    `--election-ticks ${s.electionTimeoutTicks}`,
    `--heartbeat-ticks ${s.heartbeatTicks}`,
    `--batch ${s.maxBatchEntries}`,
    `--faults ${s.faults.length === 0 ? 'none' : s.faults.join(',')}`,
    `--drop ${p.dropRate}`,
    `--dup ${p.duplicateRate}`,
    `--delay ${p.minDelayMs}-${p.minDelayMs + p.delaySpreadMs}`,
    `--partition-rate ${p.partitionPer100Ms}`,
    `--crash-rate ${p.crashPer100Ms}`,
    `--mid-ready-crash-rate ${p.midReadyCrashRate}`,
    `--disk ${p.writeMinMs}-${Math.round((p.writeMinMs + p.writeSpreadMs) * 100) / 100}`,
    `--stale-replay ${s.staleReplayRate}`,
    protocol === 'multi' ? `--stale-admin ${s.staleAdminRate}` : '',
    `--early-resubmit ${s.earlyResubmitRate}`,
    `--late-retry ${s.lateRetryRate}`,
    protocol === 'multi' ? `--session-churn ${s.sessionChurnRate}` : '',
    `--reuse-identities ${s.reuseIdentities ? 'on' : 'off'}`,
    protocol === 'multi' ? `--membership ${s.membershipChanges ? 'on' : 'off'}` : '',
    // Before the disk faults, which stay last (disk-faults.test.ts).
    ...shapeFlags(s.shapes, protocol),
    `--disk-faults ${s.diskFaults.length === 0 ? 'none' : s.diskFaults.join(',')}`,
  ];
  return flags.filter((x) => x !== '').join(' ');
}
