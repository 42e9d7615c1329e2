/**
 * The glue between the replicas' disks and the storage faults
 * (`disk-faults.ts`, which draw from their own stream, and only when the seed
 * has some on): a start that finds a damaged directory keeps the replica
 * down, a crash may damage what it leaves behind, and the faults count damage
 * against every configuration that may still need a quorum.
 */
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import { type DiskFaultKind, DiskFaults } from './disk-faults.js';
import type { SimNode, World } from './events.js';
import type { SimStorage } from './twins.js';

export class SimDisks<M extends PeerMessage> {
  /** Storage faults, when the seed has any on (their own stream: without them nothing is drawn). */
  private readonly faults: DiskFaults | null;
  /** The voters each replica's configuration named when it last crashed (disk faults count damage against it). */
  private readonly lastVoters = new Map<NodeId, readonly NodeId[]>();
  /** Each replica's storage of its current incarnation: its writes in flight are what a power loss may land. */
  private readonly storages = new Map<NodeId, SimStorage>();

  constructor(
    private readonly world: World<M>,
    o: {
      readonly kinds: readonly DiskFaultKind[];
      /** The changes the administrator asked for that may yet be chosen. */
      readonly pendingConfigurations: () => (readonly NodeId[])[];
      /** Records a fault landed on a disk (a power loss's writes in flight). */
      readonly onLanded: (node: NodeId, records: readonly unknown[]) => void;
    },
  ) {
    this.faults =
      o.kinds.length === 0
        ? null
        : new DiskFaults(
            {
              possibleConfigurations: () => this.possibleConfigurations(o.pendingConfigurations),
              onLanded: o.onLanded,
              note: (line) => world.noteAndTrace(line),
            },
            {
              seed: world.opts.seed,
              kinds: o.kinds,
              amnesia: world.opts.simBugs?.amnesia === true,
              recoveryPossible: world.opts.protocol === 'multi' && world.opts.proposers === undefined,
              ...(world.opts.recoverDamaged !== undefined ? { recover: world.opts.recoverDamaged } : {}),
            },
          );
  }

  /**
   * The configurations that may still need a quorum: the latest one any
   * replica entered, each replica's own (one that has not yet learned how an
   * epoch ended still needs that epoch's voters to learn it), and every
   * change the administrator asked for that may yet be chosen.
   */
  private possibleConfigurations(pending: () => (readonly NodeId[])[]): (readonly NodeId[])[] {
    const own = this.world.nodes
      .filter((n) => !n.retired)
      .map((n) => n.replica?.inspectCore().view().membership?.voters ?? this.lastVoters.get(n.id))
      .filter((v) => v !== undefined);
    return [this.world.latestVoters(), ...own, ...pending()];
  }

  /** Whether a start found the replica's data directory damaged: it stays down for the rest of the run. */
  isOut(node: NodeId): boolean {
    return this.faults?.isOut(node) ?? false;
  }

  /** Whether a storage fault damaged the replica's data directory (found at its next start, or not yet). */
  isDamaged(node: NodeId): boolean {
    return this.faults?.isDamaged(node) ?? false;
  }

  /** Whether a storage fault damaged the directory of a replica once recovered again, since its last recovery began. */
  isDamagedSinceRecovery(node: NodeId): boolean {
    return this.faults?.isDamagedSinceRecovery(node) ?? false;
  }

  /**
   * A start's checks of the data directory: the sentence that keeps the
   * replica down, or null when it may start. In the seeds whose operator
   * recovers, a damaged directory is set aside instead (`paxos recover
   * node-N`): the replica starts on a fresh one that says it is recovering
   * (the core's `recoverLostDisk`, on every later start too, as the fresh
   * directory's identity says), and the checkers forget what it promised and
   * accepted before and hold it to voting only in epochs opened after the loss.
   */
  refusesStart(node: SimNode): string | null {
    const verdict = this.faults?.onStart(node.id, node.disk, node.incarnations > 0);
    if (verdict === undefined || verdict.ok) return null;
    if (this.faults === null || !this.faults.recovers) return verdict.sentence;
    this.world.noteAndTrace(`${nodeName(node.id)} RECOVERS on a fresh disk (paxos recover): ${verdict.sentence}`);
    this.faults.startRecovering(node.id, node.disk);
    this.faults.onStart(node.id, node.disk, false);
    node.lostDisk = true;
    this.world.checker.onDiskLost(node.id, this.world.checker.latestMembership().epoch);
    return null;
  }

  /** The storage of the replica's new incarnation. */
  opened(node: NodeId, storage: SimStorage): void {
    this.storages.set(node, storage);
  }

  /** A high-water mark reached the disk. */
  onMarked(node: NodeId, reached: number): void {
    this.faults?.onMarked(node, reached);
  }

  /** A replica is about to lose its core: the voters it knew are what damage is counted against while it is down. */
  beforeCrash(node: SimNode): void {
    if (this.faults === null || node.replica === null) return;
    const voters = node.replica.inspectCore().view().membership?.voters;
    if (voters !== undefined) this.lastVoters.set(node.id, voters);
  }

  /** A replica died: during the fault phase its disk may take a fault; otherwise it keeps what the kernel holds. */
  afterCrash(node: SimNode): void {
    const inFlight = this.storages.get(node.id)?.inFlight ?? [];
    if (this.faults !== null && !this.world.settled && !node.retired) this.faults.onCrash(node.id, node.disk, inFlight);
    else node.disk.keepPageCache();
  }

  /** The faults that changed a disk, by kind, and the replicas a start kept out; null when none were on. */
  summary(): { applied: Record<string, number>; keptOut: number } | null {
    if (this.faults === null) return null;
    return { applied: Object.fromEntries(this.faults.applied), keptOut: this.faults.keptOut };
  }
}
