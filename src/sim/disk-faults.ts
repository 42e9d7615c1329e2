/**
 * Storage faults in the simulator (issue 22): what a crash or an operator can
 * do to a replica's data directory beyond losing its unsynced tail, and how
 * the replica reacts at its next start, judged by the real storage's own
 * checks: frames and their checksums (src/storage/frame.ts decodeLog), the
 * log's header record and a durable high-water mark the log must reach
 * (src/storage/file-storage.ts checkHeader), and the identity a wiped
 * directory loses (src/storage/identity.ts). The mark lives outside the
 * directory, as node-N.mark does beside node-N, so no fault here reaches it.
 *
 * The kinds, applied at a crash:
 * - torn: the power fails during a write; its first records land, then part of a frame (a torn tail, cut off at open);
 * - split: the power fails between two writes of one step (some of a Ready's records, or a checkpoint's snapshot
 *   without its log, or a Ready's records without the checkpoint that follows them);
 * - lost-write: the disk acknowledged the last write and lost it (its cache lied about fsync);
 * - truncate: the log is cut short at a record boundary (or emptied, header and all);
 * - flip: one bit of the log or of the snapshot flips;
 * - wipe: the whole directory is gone;
 * - rollback: the directory is put back from an earlier copy (the one taken when an earlier incarnation started).
 * The first two never lose what was acknowledged and the replica restarts as usual; the others may, and a replica
 * whose directory fails the checks stays out (it does not vote or answer) for the rest of the run, as a real one
 * refuses to start. Those damage at most a minority of every configuration that may yet govern (the latest one and
 * any change still pending), counting the replicas already out; an administrator replaces a damaged voter.
 *
 * Faults draw from their own stream (seeded from the seed), and nothing here draws when faults are off, so the
 * schedules of seeds without disk faults are the ones they always were.
 */
import { Random } from '../core/random.js';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { DataDamagedError, StorageCorruptError } from '../storage/errors.js';
import { checkHeader, logHeader } from '../storage/file-storage.js';
import { decodeLog, encodeFrame } from '../storage/frame.js';
import type { InFlightWrite, SimDisk } from './twins.js';

export const DISK_FAULT_KINDS = ['torn', 'split', 'lost-write', 'truncate', 'flip', 'wipe', 'rollback'] as const;
export type DiskFaultKind = (typeof DISK_FAULT_KINDS)[number];

/** Kinds that are a power failure: the page cache dies with the machine. */
const POWER_LOSS: readonly DiskFaultKind[] = ['torn', 'split', 'lost-write'];
/** Kinds that may lose acknowledged state, and so must leave a majority of every configuration whole. */
export const DAMAGING: readonly DiskFaultKind[] = ['lost-write', 'truncate', 'flip', 'wipe', 'rollback'];

/** Chance that a crash of a replica comes with a storage fault, when the seed has any on. */
const FAULT_PER_CRASH = 0.5;
const DISK_SALT = 0x4449534b; // "DISK"
const RECOVER_SALT = 0x52435652; // "RCVR"
/** Chance that a seed's operator recovers damaged replicas (the rest stay out, or are replaced by the administrator). */
const RECOVER_CHANCE = 0.5;

/** What disk faults need of the world. */
export interface DiskFaultHost {
  /** Configurations that may govern from now on: the latest one's voters, and those of changes still pending. */
  possibleConfigurations(): readonly (readonly NodeId[])[];
  /** Records a fault put on a disk (a write's first records): the checkers learn them as durable. */
  onLanded(node: NodeId, records: readonly unknown[]): void;
  note(line: string): void;
}

/** A start's verdict on a data directory. */
export type DiskVerdict =
  | { readonly ok: true; readonly records: readonly unknown[]; readonly snapshot: readonly unknown[] | null }
  | { readonly ok: false; readonly sentence: string };

/** A copy of a directory, for a later rollback. */
interface DiskCopy {
  readonly durable: readonly unknown[];
  readonly snapshot: readonly unknown[] | null;
  readonly base: number;
  readonly identity: boolean;
}

export interface DiskFaultOptions {
  readonly seed: number;
  readonly kinds: readonly DiskFaultKind[];
  /** Planted: a replica whose directory fails the checks starts anyway from what it can read, and votes. */
  readonly amnesia?: boolean;
  /** How many replicas may be damaged at once regardless of configurations (tests; default: a minority). */
  readonly ignoreMinority?: boolean;
  /**
   * Multi: a replica that a start finds damaged may be recovered as an operator does (`paxos recover`: a fresh
   * directory, a `recovering` record, re-admission); half the seeds draw it, from a stream of its own. Basic has no
   * recovery, and its damaged replicas stay out.
   */
  readonly recoveryPossible?: boolean;
  /** Fixes what the seed would draw for recovery (a recorded seed whose bug needs a damaged replica kept out). */
  readonly recover?: boolean;
}

export class DiskFaults {
  private readonly random: Random;
  /** The high-water mark of each replica's log, kept outside its directory (node-N.mark). */
  private readonly marks = new Map<NodeId, number>();
  /** Replicas whose directory a fault damaged, from the fault until the end of the run (out, once a start saw it). */
  private readonly damaged = new Set<NodeId>();
  /** Replicas that a start found damaged and that stay out. */
  private readonly out = new Set<NodeId>();
  private readonly copies = new Map<NodeId, DiskCopy>();
  /** The record a flip damaged, by node: where a lenient (planted) reader stops. */
  private readonly flippedRecord = new Map<NodeId, number>();
  /** Faults that changed a disk, by kind. */
  readonly applied = new Map<DiskFaultKind, number>();
  /** Whether this seed's operator recovers a replica a start finds damaged (drawn once, from its own stream). */
  readonly recovers: boolean;
  /** Replicas started again on a fresh directory to recover. */
  readonly recovering = new Set<NodeId>();
  /**
   * Recovered replicas whose directory a fault damaged again, until their next recovery starts: a rollback may put
   * back a directory that records their old re-admission, which says nothing about the votes the new damage forgot.
   */
  private readonly damagedSinceRecovery = new Set<NodeId>();

  constructor(
    private readonly host: DiskFaultHost,
    private readonly options: DiskFaultOptions,
  ) {
    this.random = new Random((options.seed ^ DISK_SALT) >>> 0);
    const drawn = new Random((options.seed ^ RECOVER_SALT) >>> 0).chance(RECOVER_CHANCE);
    this.recovers = options.recoveryPossible === true && (options.recover ?? drawn);
  }

  /**
   * `paxos recover node-N` after a start refused `node`'s damaged directory:
   * the directory is set aside and a fresh one takes its place (no identity
   * yet, so the next start is a first start and writes the mark anew). The
   * replica stays damaged for the minority rule: it votes on nothing it may
   * have forgotten, so it counts as lost until its re-admission.
   */
  startRecovering(node: NodeId, disk: SimDisk): void {
    restore(disk, { durable: [], snapshot: null, base: 0, identity: false });
    this.marks.delete(node);
    this.copies.delete(node);
    this.flippedRecord.delete(node);
    this.out.delete(node);
    this.recovering.add(node);
    this.damagedSinceRecovery.delete(node);
  }

  /** Whether a start found `node`'s directory damaged: it stays down and answers nobody. */
  isOut(node: NodeId): boolean {
    return this.out.has(node);
  }

  /** How many replicas a start kept out. */
  get keptOut(): number {
    return this.out.size;
  }

  /** Whether a fault damaged `node`'s directory (detected or not yet). */
  isDamaged(node: NodeId): boolean {
    return this.damaged.has(node);
  }

  /** Whether a fault damaged the directory of `node`, recovered once, again since its last recovery began. */
  isDamagedSinceRecovery(node: NodeId): boolean {
    return this.damagedSinceRecovery.has(node);
  }

  /**
   * The high-water mark of `node`'s log as its last write of it left it. It
   * follows the log lazily (twins.ts, as FileStorage: at most every 200 ms,
   * so a write keeps its one fsync), so what a start can see missing is what
   * lies below it: a write lost, a cut or a copy put back above it leaves a
   * log a start cannot tell from a whole one, and the README says so ("what
   * it cannot see"). The damaging faults here stay below it: they are the
   * damage the product promises to find. (Until this was modelled the mark
   * followed every write here, and seeds with those faults above it chose
   * nothing twice only because the simulated replicas saw damage real ones
   * would not: with the lazy mark and the faults unbounded, 20 of the first
   * 291 Multi seeds and 20 of 193 Basic ones restarted a replica without a
   * promise or a vote it had sent.)
   */
  private markOf(node: NodeId): number {
    return this.marks.get(node) ?? 0;
  }

  /** A high-water mark reached the disk (twins.ts writes it lazily, as FileStorage does): it only ever grows. */
  onMarked(node: NodeId, reached: number): void {
    this.marks.set(node, Math.max(this.marks.get(node) ?? 0, reached));
  }

  /**
   * A crash of `node`: maybe a fault, drawn from the seed's kinds. The writes
   * still in flight die with the replica unless a power-loss kind lands part
   * of them; a process crash keeps what the kernel holds, a power loss does not.
   */
  onCrash(node: NodeId, disk: SimDisk, inFlight: readonly InFlightWrite[]): void {
    const kind = this.draw(node);
    if (kind === null || !POWER_LOSS.includes(kind)) disk.keepPageCache();
    else disk.unsynced.length = 0;
    if (kind !== null) this.inflict(kind, node, disk, inFlight);
  }

  /** Applies one fault to a crashed replica's disk (its page cache already kept or lost); returns what it did, or null when there was nothing for it to do. */
  inflict(kind: DiskFaultKind, node: NodeId, disk: SimDisk, inFlight: readonly InFlightWrite[] = []): string | null {
    const what = this.applyKind(kind, node, disk, inFlight);
    if (what === null) return null;
    if (DAMAGING.includes(kind)) {
      this.damaged.add(node);
      if (this.recovering.has(node)) this.damagedSinceRecovery.add(node);
    }
    this.applied.set(kind, (this.applied.get(kind) ?? 0) + 1);
    this.host.note(`${nodeName(node)} DISK FAULT ${kind}: ${what}`);
    return what;
  }

  private draw(node: NodeId): DiskFaultKind | null {
    if (this.options.kinds.length === 0 || !this.random.chance(FAULT_PER_CRASH)) return null;
    const kind = this.random.pick(this.options.kinds);
    // A replica kept out may take any fault (it is lost already); one recovered is back, and new damage to it counts
    // against the minority like any other (seed 1005 at 4 replicas: node-3, recovered, lost a write again and left
    // the configuration of node-1 and node-3 waiting for a re-admission only their quorum could choose).
    const keptOut = this.damaged.has(node) && !this.recovering.has(node);
    if (!DAMAGING.includes(kind) || keptOut || this.mayDamage(node)) return kind;
    return null;
  }

  /** Whether damaging `node` too still leaves a whole majority in every configuration that may govern. */
  private mayDamage(node: NodeId): boolean {
    if (this.options.ignoreMinority) return true;
    const configs = this.host.possibleConfigurations();
    // A replica that is in no configuration yet (a learner on its way in) is left alone: it could join as a voter damaged.
    if (!configs.some((voters) => voters.includes(node))) return false;
    return configs.every((voters) => {
      const bad = voters.filter((v) => v === node || this.damaged.has(v)).length;
      return bad <= Math.floor((voters.length - 1) / 2);
    });
  }

  private applyKind(
    kind: DiskFaultKind,
    node: NodeId,
    disk: SimDisk,
    inFlight: readonly InFlightWrite[],
  ): string | null {
    const r = this.random;
    switch (kind) {
      case 'torn':
        return this.tear(node, disk, inFlight[0]);
      case 'split':
        return this.split(node, disk, inFlight);
      case 'lost-write': {
        const lost = Math.min(disk.lastAppended, disk.durable.length);
        // Only a write the mark already covers: one newer than the mark is beyond what a start can see (see markOf).
        if (lost === 0 || this.markOf(node) < disk.reach) return null;
        disk.durable.length -= lost;
        disk.lastAppended = 0;
        disk.logBytes = null;
        return `the last write's ${lost} acknowledged records are gone`;
      }
      case 'truncate': {
        if (disk.durable.length === 0 && disk.logBytes === null) return null;
        if (r.chance(0.2)) {
          disk.logBytes = Buffer.alloc(0);
          return 'the log is emptied, header and all';
        }
        // A cut below the mark, where a start sees it (see markOf); none is left above it but the empty log.
        const keepAtMost = Math.min(disk.durable.length - 1, this.markOf(node) - disk.base - 1);
        if (keepAtMost < 0) {
          disk.logBytes = Buffer.alloc(0);
          return 'the log is emptied, header and all';
        }
        const keep = r.int(0, keepAtMost);
        disk.durable.length = keep;
        disk.logBytes = null;
        return `the log is cut to ${keep} records`;
      }
      case 'flip':
        return this.flip(node, disk);
      case 'wipe':
        if (!disk.identity) return null;
        restore(disk, { durable: [], snapshot: null, base: 0, identity: false });
        return 'the data directory is gone';
      case 'rollback': {
        const copy = this.copies.get(node);
        const copyReach = copy === undefined ? 0 : copy.base + copy.durable.length;
        // Only a copy the mark has moved past since (see markOf).
        if (copy === undefined || copyReach >= disk.reach || copyReach >= this.markOf(node)) return null;
        restore(disk, copy);
        return `the data directory is put back from an earlier copy (${copy.durable.length} records)`;
      }
    }
  }

  /** A power loss in the middle of a write: its first records land, and part of the next frame. */
  private tear(node: NodeId, disk: SimDisk, write: InFlightWrite | undefined): string | null {
    if (write?.kind !== 'append' || write.records.length === 0) return null;
    const whole = this.random.int(0, write.records.length - 1);
    const landed = write.records.slice(0, whole);
    const frame = encodeFrame(write.records[whole]);
    const partial = frame.subarray(0, this.random.int(1, frame.length - 1));
    disk.logBytes = Buffer.concat([logBytesOf(disk), ...landed.map(encodeFrame), partial]);
    disk.durable.push(...landed);
    if (landed.length > 0) this.host.onLanded(node, landed);
    return `a write tore: ${whole} of its ${write.records.length} records landed, then ${partial.length} bytes of the next`;
  }

  /** A power loss between two writes of one step. */
  private split(node: NodeId, disk: SimDisk, inFlight: readonly InFlightWrite[]): string | null {
    const [first, second] = inFlight;
    if (first === undefined) return null;
    if (first.kind === 'checkpoint') {
      disk.snapshot = [...first.checkpoint.snapshot];
      return 'a checkpoint wrote its snapshot, not its log';
    }
    // A Ready's records and the checkpoint after them are two writes: the first lands whole.
    const count = second !== undefined ? first.records.length : this.random.int(0, first.records.length - 1);
    if (count === 0) return null;
    const landed = first.records.slice(0, count);
    disk.durable.push(...landed);
    if (disk.logBytes !== null) disk.logBytes = Buffer.concat([disk.logBytes, ...landed.map(encodeFrame)]);
    this.host.onLanded(node, landed);
    return `${count} of a write's ${first.records.length} records landed${second !== undefined ? `, not the ${second.kind} after it` : ''}`;
  }

  /** One bit flips in the log (or the snapshot): the frame's checksum no longer matches. */
  private flip(node: NodeId, disk: SimDisk): string | null {
    const r = this.random;
    const inSnapshot = disk.snapshot !== null && r.chance(0.3);
    const bytes = inSnapshot ? snapshotBytesOf(disk) : logBytesOf(disk);
    if (bytes.length === 0) return null;
    const at = r.int(0, bytes.length - 1);
    const damaged = Buffer.from(bytes);
    damaged[at] = (damaged[at] ?? 0) ^ (1 << r.int(0, 7));
    if (inSnapshot) disk.snapshotBytes = damaged;
    else {
      disk.logBytes = damaged;
      this.flippedRecord.set(node, recordAt(bytes, at));
    }
    return `bit flipped at byte ${at} of the ${inSnapshot ? 'snapshot' : 'log'}`;
  }

  /**
   * A start reads the directory back, as openFileStorage and checkIdentity
   * would: a missing identity of a replica that started before, a frame
   * whose checksum fails, a log without its header or short of its mark, or
   * a cut snapshot is damage, and the replica stays out. A torn tail is cut
   * off. A good start records the new mark (recordStart).
   */
  onStart(node: NodeId, disk: SimDisk, startedBefore: boolean): DiskVerdict {
    const verdict = judge(node, disk, startedBefore ? (this.marks.get(node) ?? 0) : null);
    if (!verdict.ok) {
      if (!this.options.amnesia) {
        this.out.add(node);
        return verdict;
      }
      this.host.note(`${nodeName(node)} starts anyway (planted amnesia): ${verdict.sentence}`);
      this.readLeniently(node, disk);
    } else {
      replaceWith(disk, verdict.records);
      disk.snapshot = verdict.snapshot;
    }
    disk.logBytes = null;
    disk.snapshotBytes = null;
    disk.identity = true;
    this.marks.set(node, disk.reach);
    this.copies.set(node, { durable: [...disk.durable], snapshot: disk.snapshot, base: disk.base, identity: true });
    return { ok: true, records: disk.durable, snapshot: disk.snapshot };
  }

  /** The planted amnesia's reader: what is left before the first bad frame, and no snapshot it cannot read. */
  private readLeniently(node: NodeId, disk: SimDisk): void {
    // An emptied log reads as nothing; a flipped one up to the record the flip hit.
    if (disk.logBytes !== null)
      disk.durable.length = Math.max(0, Math.min(disk.durable.length, this.flippedRecord.get(node) ?? 0));
    if (disk.snapshotBytes !== null) disk.snapshot = null;
    this.flippedRecord.delete(node);
  }
}

/** The verdict of a start on `disk`, with the mark the log must reach (null: a first start, which may create it). */
export function judge(node: NodeId, disk: SimDisk, mustReach: number | null): DiskVerdict {
  const path = `${nodeName(node)}/wal.log`;
  const forgot = 'so it does not vote on what it may have forgotten';
  if (mustReach !== null && !disk.identity)
    return { ok: false, sentence: `${nodeName(node)}'s data directory is missing or has no identity.json; ${forgot}` };
  try {
    const all =
      disk.logBytes === null ? [logHeader(disk.base), ...disk.durable] : decodeLog(disk.logBytes, path).records;
    checkHeader(all, path, undefined, mustReach);
    const snapshot = disk.snapshotBytes === null ? disk.snapshot : readSnapshot(disk.snapshotBytes, node);
    return { ok: true, records: all.slice(1), snapshot };
  } catch (err) {
    if (err instanceof StorageCorruptError || err instanceof DataDamagedError)
      return { ok: false, sentence: `${err.message}; ${forgot}` };
    throw err;
  }
}

function readSnapshot(bytes: Buffer, node: NodeId): unknown[] {
  const path = `${nodeName(node)}/snapshot`;
  const { records, tornBytes, validBytes } = decodeLog<unknown>(bytes, path);
  if (tornBytes > 0) throw new StorageCorruptError(`${path} is cut short at byte ${validBytes}`);
  return records;
}

/** The log's bytes: the header frame and a frame per record (or what a fault left). */
function logBytesOf(disk: SimDisk): Buffer {
  return disk.logBytes ?? Buffer.concat([encodeFrame(logHeader(disk.base)), ...disk.durable.map(encodeFrame)]);
}

function snapshotBytesOf(disk: SimDisk): Buffer {
  return disk.snapshotBytes ?? Buffer.concat((disk.snapshot ?? []).map(encodeFrame));
}

/** Which record (0: the first after the header) holds byte `at` of a log's bytes; -1 for the header. */
function recordAt(bytes: Buffer, at: number): number {
  let offset = 0;
  for (let i = -1; offset < bytes.length; i++) {
    const end = offset + 12 + bytes.readUInt32LE(offset);
    if (at < end) return i;
    offset = end;
  }
  return Number.MAX_SAFE_INTEGER;
}

function replaceWith(disk: SimDisk, records: readonly unknown[]): void {
  if (records === disk.durable) return;
  disk.durable.length = 0;
  disk.durable.push(...records);
}

function restore(disk: SimDisk, copy: DiskCopy): void {
  replaceWith(disk, [...copy.durable]);
  disk.snapshot = copy.snapshot;
  disk.base = copy.base;
  disk.identity = copy.identity;
  disk.logBytes = null;
  disk.snapshotBytes = null;
  disk.unsynced.length = 0;
  disk.lastAppended = 0;
}
