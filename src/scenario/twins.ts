/**
 * Twins for running the real replica shell (`src/node/replica.ts`) under a
 * test script rather than the simulator's seeded world: nothing happens
 * unless the test says so.
 *
 * - Time: a `ManualClock` per incarnation. A tick happens only when the test
 *   advances that node's clock, and the shell's "next turn" (its drain) runs
 *   only when the test runs the clock's deferred work.
 * - Storage: `ScriptedStorage`. A write completes at once, or, when the test
 *   asks for it, stays in progress until the test says it is durable.
 * - Network: the simulator's `SimLinks`. What a node sends goes to the test's
 *   `send` (the script's pool of messages); `deliver` hands one back.
 *
 * A crash marks the incarnation dead (`Incarnation.alive`, as in the
 * simulator): its writes never complete, its messages and replies go
 * nowhere. Whatever the shell object still holds dies with it.
 */
import {
  type ClientReply,
  type Command,
  type CommandIdentity,
  nodeName,
  type PlantedBugs,
  type Protocol,
} from '../core/types.js';
import { ManualClock } from '../node/clock.js';
import { type PeerMessage, Replica, type ReplicaProbe } from '../node/replica.js';
import { Incarnation, SimLinks } from '../sim/twins.js';
import type { DurableLog, StorageStats } from '../storage/storage.js';

/** The shell's tick period; a scripted tick advances the clock by exactly this much. */
export const TICK_MS = 10;

/** What a test wants to see of a node's storage; every hook is optional. */
export interface StorageObserver {
  /** A write started and is in progress until the test completes it. */
  writing?(records: readonly unknown[]): void;
  /** Records reached the disk, before the shell hears so. */
  durable?(records: readonly unknown[]): void;
  /** Lazy records were queued for the next write. */
  kept?(records: readonly unknown[]): void;
}

interface Write {
  readonly records: readonly unknown[];
  readonly done: (err: Error | null) => void;
  /** Asked for by the test: this write waits until the test completes it. */
  readonly waitsForTest: boolean;
}

/**
 * A node's log. Lazy records ride with the next write, in front of its own
 * records, as in the file log (`FileStorage` queues lazy frames and an
 * append's frames join them). Writes complete in order: a write made while
 * another is in progress waits for it even if nobody asked it to.
 */
export class ScriptedStorage implements DurableLog<unknown> {
  readonly recovered: readonly unknown[];
  /** Scenarios keep whole logs: they run far fewer slots than a replica takes between snapshots. */
  readonly recoveredSnapshot = null;
  /** Set by the test just before an append it wants held (the shell gives storage no other way to tell writes apart). */
  holdNextWrite = false;
  private lazy: unknown[] = [];
  private readonly inProgress: Write[] = [];
  private readonly counts = { records: 0, bytes: 0, fsyncs: 0, appends: 0 };

  constructor(
    private readonly life: Incarnation,
    /** The node's disk: what survives every crash, and what the next incarnation recovers. */
    private readonly disk: unknown[],
    private readonly observer: StorageObserver = {},
  ) {
    this.recovered = [...disk];
    this.counts.records = disk.length;
  }

  append(records: readonly unknown[], done: (err: Error | null) => void): void {
    const write: Write = { records: [...this.lazy, ...records], done, waitsForTest: this.holdNextWrite };
    this.lazy = [];
    this.holdNextWrite = false;
    this.counts.appends++;
    if (write.waitsForTest || this.inProgress.length > 0) {
      this.inProgress.push(write);
      this.observer.writing?.(write.records);
      return;
    }
    this.complete(write);
  }

  appendLazy(records: readonly unknown[]): void {
    this.lazy.push(...records);
    this.observer.kept?.(records);
  }

  /**
   * The oldest write in progress is durable, and so are the writes queued
   * behind it that only waited for their turn, up to the next one the test
   * asked to hold. False when no write is in progress.
   */
  finishWrite(): boolean {
    const first = this.inProgress.shift();
    if (first === undefined) return false;
    this.complete(first);
    for (let next = this.inProgress.at(0); next !== undefined && !next.waitsForTest; next = this.inProgress.at(0)) {
      this.inProgress.shift();
      this.complete(next);
    }
    return true;
  }

  checkpoint(): void {
    throw new Error(
      'a scripted scenario compacted its log: scenarios run fewer slots than snapshotEverySlots, so this is a bug',
    );
  }

  /** What a crash now would lose: the records of writes in progress, then the lazy ones. */
  unwritten(): unknown[] {
    return [...this.inProgress.flatMap((w) => w.records), ...this.lazy];
  }

  stats(): StorageStats {
    return { ...this.counts };
  }

  private complete(write: Write): void {
    if (!this.life.alive) return;
    this.disk.push(...write.records);
    this.counts.records += write.records.length;
    if (write.records.length > 0) this.counts.fsyncs++;
    this.observer.durable?.(write.records);
    write.done(null);
  }
}

export interface ScriptedNodeOptions {
  readonly id: number;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  /** 1 for the first life of the node, then one more per restart. */
  readonly incarnation: number;
  /** The node's disk, kept by the test across incarnations. */
  readonly disk: unknown[];
  /** Every message the shell sends, in order. */
  readonly send: (m: PeerMessage) => void;
  readonly probe?: ReplicaProbe;
  readonly storage?: StorageObserver;
  readonly electionTimeoutTicks?: number;
  readonly heartbeatTicks?: number;
  /** Basic Paxos: a pre-empted proposer waits a random number of ticks before its next round (the core's default is on). */
  readonly backoff?: boolean;
  /** A replica that joins after the cluster was created: whom it asks for the log. */
  readonly contacts?: readonly number[];
  /** A scenario's `option plant`: the core rules this replica breaks on purpose. */
  readonly bugs?: PlantedBugs;
  /** The node lost its disk and starts on an empty one, recovering (the core's `recoverLostDisk`). */
  readonly recoverLostDisk?: boolean;
}

/** One incarnation of one node: a real `Replica` over the twins above. */
export class ScriptedNode {
  readonly life: Incarnation;
  readonly clock = new ManualClock();
  readonly storage: ScriptedStorage;
  readonly replica: Replica;
  private readonly links: SimLinks;

  constructor(o: ScriptedNodeOptions) {
    this.life = new Incarnation(o.id, o.incarnation);
    this.storage = new ScriptedStorage(this.life, o.disk, o.storage);
    this.links = new SimLinks(this.life, { send: (_from, m) => o.send(m), crashBeforeSend: () => false });
    this.replica = new Replica({
      id: o.id,
      clusterSize: o.clusterSize,
      protocol: o.protocol,
      storage: this.storage,
      transport: this.links,
      clock: this.clock,
      randomSeed: o.id,
      tickMs: TICK_MS,
      publishEveryMs: 0,
      session: `${nodeName(o.id)}.${o.incarnation}`,
      core: {
        ...(o.electionTimeoutTicks !== undefined ? { electionTimeoutTicks: o.electionTimeoutTicks } : {}),
        ...(o.heartbeatTicks !== undefined ? { heartbeatTicks: o.heartbeatTicks } : {}),
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
        ...(o.contacts !== undefined ? { contacts: o.contacts } : {}),
        ...(o.bugs !== undefined ? { bugs: o.bugs } : {}),
        ...(o.recoverLostDisk === true ? { recoverLostDisk: true } : {}),
      },
      ...(o.probe !== undefined ? { probe: o.probe } : {}),
    });
    this.replica.start();
  }

  /** One tick, and every turn it leads to. */
  tick(): void {
    this.clock.advance(TICK_MS);
  }

  /** Hands the node a peer's message, and runs every turn it leads to. */
  deliver(m: PeerMessage): void {
    this.links.deliver(m);
    this.settle();
  }

  /** Queues a client's command; the shell takes it on its next turn (`settle`). A dead incarnation's replies go nowhere. */
  request(command: Command, identity: CommandIdentity, onReply: (reply: ClientReply) => void): void {
    this.replica.request(command, { identity }, (reply) => {
      if (this.life.alive) onReply(reply);
    });
  }

  /** Runs the shell's pending turns until it has nothing left to do without the test. */
  settle(): void {
    this.clock.runDeferred();
  }

  /** The process dies: nothing it had not written survives, nothing it still holds ever leaves. */
  crash(): void {
    this.life.alive = false;
  }
}
