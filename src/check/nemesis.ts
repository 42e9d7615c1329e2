/**
 * The nemesis of `paxos check`: faults on a schedule drawn from a seed, with
 * Jepsen's names. The schedule is pure data (the same seed, size and length
 * give the same schedule, printed before the run); targets such as "the
 * leader" are resolved when the fault starts, since only then is it known.
 */
import { Random } from '../core/random.js';
import { nodeName } from '../core/types.js';

export const NEMESIS_KINDS = [
  'kill',
  'pause',
  'partition',
  'leader',
  'delay',
  'drop',
  'kill-all',
  'membership',
  'disk',
] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

/** Whom a fault hits: named replicas, or the leader of the moment. */
export type Target = { readonly nodes: readonly number[] } | { readonly leader: true };

export type Fault =
  | { readonly kind: 'kill'; readonly target: Target }
  | { readonly kind: 'pause'; readonly target: Target }
  | { readonly kind: 'partition'; readonly minority: readonly number[] }
  | { readonly kind: 'leader'; readonly how: 'kill' | 'pause' | 'isolate' }
  | { readonly kind: 'delay'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'drop'; readonly rate: number }
  | { readonly kind: 'kill-all' }
  /**
   * Multi-Paxos: change the configuration as `paxos add` and `paxos remove`
   * do, and change it back at the end: grow adds a replica then removes one
   * (a new one, or the leader), shrink removes a voter then adds a fresh
   * replica, replace swaps a voter for a new replica.
   */
  | { readonly kind: 'membership'; readonly how: 'grow' | 'shrink' | 'replace' }
  /**
   * A minority's disk (see disk-fault.ts): its replicas are crashed, their
   * data damaged as `damage` says, and restarted; `seed` picks the replicas,
   * the lagging ones and the bytes when the fault starts.
   */
  | { readonly kind: 'disk'; readonly damage: DiskDamage; readonly seed: number };

/**
 * What the disk nemesis does to a crashed replica's data: nothing beyond the
 * crash (only what never reached the disk is lost, as at a power cut), a log
 * cut short, a byte flipped, the directory put back from an earlier copy,
 * or the directory's files deleted.
 */
export const DISK_DAMAGES = ['crash', 'truncate', 'corrupt', 'rollback', 'wipe'] as const;
export type DiskDamage = (typeof DISK_DAMAGES)[number];

export interface ScheduledFault {
  readonly fault: Fault;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * Alternates calm and faulty periods over the run, leaving a calm tail so the
 * cluster's recovery is part of what is measured. Fault lengths are 2–5 s
 * and calm gaps 1.5–3 s: long enough for elections (150–300 ms) to happen
 * inside a fault, short enough for several faults in a short run.
 */
export function drawSchedule(o: {
  seed: number;
  clusterSize: number;
  durationMs: number;
  kinds: readonly NemesisKind[];
}): ScheduledFault[] {
  const random = new Random(o.seed);
  const schedule: ScheduledFault[] = [];
  if (o.kinds.length === 0) return schedule;
  const lastEndMs = o.durationMs - Math.min(3000, o.durationMs * 0.2);
  for (let t = 1000 + random.int(0, 1000); schedule.length < 1000; ) {
    const lengthMs = random.int(2000, 5000);
    if (t + lengthMs > lastEndMs) break;
    schedule.push({ fault: drawFault(random, random.pick(o.kinds), o.clusterSize), startMs: t, endMs: t + lengthMs });
    t += lengthMs + random.int(1500, 3000);
  }
  return schedule;
}

function drawFault(random: Random, kind: NemesisKind, n: number): Fault {
  switch (kind) {
    case 'kill':
    case 'pause':
      return { kind, target: drawTarget(random, n) };
    case 'partition':
      return { kind, minority: drawMinority(random, n) };
    case 'leader':
      return { kind, how: random.pick(['kill', 'pause', 'isolate'] as const) };
    case 'delay':
      return { kind, minMs: random.int(10, 50), maxMs: random.int(100, 300) };
    case 'drop':
      return { kind, rate: random.pick([0.1, 0.2, 0.4]) };
    case 'kill-all':
      return { kind };
    case 'membership':
      return { kind, how: random.pick(['grow', 'shrink', 'replace'] as const) };
    case 'disk':
      return { kind, damage: random.pick(DISK_DAMAGES), seed: random.int(1, 2 ** 30) };
  }
}

/** One replica, a minority, or the leader: the three targets Jepsen's kill and pause use. */
function drawTarget(random: Random, n: number): Target {
  const which = random.int(0, 2);
  if (which === 0) return { leader: true };
  if (which === 1 || n < 3) return { nodes: [random.int(1, n)] };
  return { nodes: drawMinority(random, n) };
}

/** A random minority (at least one replica, fewer than half). */
function drawMinority(random: Random, n: number): number[] {
  const size = Math.max(1, random.int(1, Math.max(1, Math.floor((n - 1) / 2))));
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids.slice(0, size).sort((a, b) => a - b);
}

/**
 * How a driver crashes and pauses a replica, in the words of a fault: the
 * orchestrator sends signals; a cluster on other hosts is driven through
 * each replica's admin API (driver-admin.ts), where nothing is signalled.
 */
export interface FaultMeans {
  readonly kill: string;
  readonly pause: string;
}

export const BY_SIGNALS: FaultMeans = { kill: 'SIGKILL, restart at the end', pause: 'SIGSTOP, SIGCONT at the end' };

export const BY_ADMIN_API: FaultMeans = {
  kill: 'crash through its admin API: it exits and its supervisor restarts it; waited for at the end',
  pause: 'freeze through its admin API, thaw at the end',
};

export function describeFault(f: Fault, means: FaultMeans = BY_SIGNALS): string {
  const who = (t: Target) => ('leader' in t ? 'the leader' : t.nodes.map((n) => nodeName(n)).join(','));
  switch (f.kind) {
    case 'kill':
      return `kill ${who(f.target)} (${means.kill})`;
    case 'pause':
      return `pause ${who(f.target)} (${means.pause})`;
    case 'partition':
      return `partition {${f.minority.map((n) => nodeName(n)).join(',')}} from the rest`;
    case 'leader':
      return `${f.how} the leader`;
    case 'delay':
      return `delay every message ${f.minMs}-${f.maxMs}ms`;
    case 'drop':
      return `drop ${Math.round(f.rate * 100)}% of messages`;
    case 'kill-all':
      return 'kill every replica at once, then restart them all';
    case 'membership':
      return f.how === 'grow'
        ? 'add a replica, remove one at the end'
        : f.how === 'shrink'
          ? 'remove a voter, add a fresh replica at the end'
          : 'replace a voter by a fresh replica';
    case 'disk':
      return `disk: crash a minority${f.damage === 'crash' ? '' : `, ${DAMAGE_TEXT[f.damage]}`}, restart it while the replicas that missed the last writes are cut off from the rest`;
  }
}

const DAMAGE_TEXT: Record<Exclude<DiskDamage, 'crash'>, string> = {
  truncate: 'truncate its log',
  corrupt: 'flip a byte of its log',
  rollback: 'roll its data back to an earlier copy',
  wipe: 'wipe its data',
};

export function parseNemesis(text: string): NemesisKind[] {
  if (text.trim() === '' || text === 'none') return [];
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(NEMESIS_KINDS as readonly string[]).includes(k))
      throw new Error(`unknown nemesis "${k}"; choose from ${NEMESIS_KINDS.join(', ')} (comma-separated) or none`);
  }
  return kinds as NemesisKind[];
}
