/**
 * The replicas' lives: each boot of a real replica shell from what is on its
 * node's disk twin, each crash (losing everything not on disk) and each
 * restart. A boot draws its tick phase, core seed and session name from the
 * world's main stream (shared with the fault profile and chaos), and its
 * disk's write times from the network's stream, in the order they always
 * were, so every seed replays identically.
 */
import { must } from '../core/must.js';
import type { Random } from '../core/random.js';
import type { CoreConfig, Ready } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { type PeerMessage, Replica } from '../node/replica.js';
import type { SimCore } from './adapter.js';
import type { Chaos } from './chaos.js';
import type { SimDisks } from './disks.js';
import type { SimNode, World } from './events.js';
import type { SimNetwork } from './network.js';
import { Incarnation, SimClock, SimDisk, type SimHost, SimLinks, SimStorage } from './twins.js';
import type { ReplicaWatch } from './watch.js';

const TICK_MS = 10;

export interface ReplicaParts<M extends PeerMessage> {
  /** The world's main stream: each boot's tick phase, core seed and session name. */
  readonly random: Random;
  /** The network's stream, which the disks' write times draw from too. */
  readonly netRandom: Random;
  readonly chaos: Chaos<M>;
  readonly network: SimNetwork<M>;
  readonly disks: SimDisks<M>;
  readonly watch: ReplicaWatch<M>;
}

export class SimReplicas<M extends PeerMessage> {
  constructor(
    private readonly world: World<M> & SimHost,
    /** The world's list, which this part fills. */
    private readonly nodes: SimNode[],
    private readonly parts: ReplicaParts<M>,
  ) {}

  /** A new replica with an empty disk and the next id: one of the first ones, or a learner joining later. */
  add(): SimNode {
    const id = this.nodes.length + 1;
    const node: SimNode = {
      id,
      disk: new SimDisk(),
      replica: null,
      life: new Incarnation(id, 0),
      links: null,
      incarnations: 0,
      retired: false,
    };
    this.nodes.push(node);
    this.boot(node);
    return node;
  }

  /**
   * Starts a new incarnation of the replica shell from what is on the node's
   * disk; false when the disk fails the checks of a start and the replica stays down.
   */
  private boot(node: SimNode): boolean {
    const { world, parts } = this;
    const { opts } = world;
    const refused = parts.disks.refusesStart(node);
    if (refused !== null) {
      world.noteAndTrace(`${nodeName(node.id)} STAYS DOWN: ${refused}`);
      return false;
    }
    node.incarnations++;
    const life = new Incarnation(node.id, node.incarnations);
    node.life = life;
    const storage = this.storage(node, life);
    parts.disks.opened(node.id, storage);
    const links = new SimLinks(life, {
      send: (from, m) => parts.network.send(from, m as M),
      crashBeforeSend: () => parts.chaos.maybeCrashAt(node, life, 'release'),
    });
    node.links = links;
    const phaseRandom = parts.random.fork();
    const clock = new SimClock(world, life, (intervalMs) =>
      opts.alignedTicks ? intervalMs : 1 + phaseRandom.next() * (intervalMs - 1),
    );
    node.replica = new Replica({
      id: node.id,
      clusterSize: opts.clusterSize,
      protocol: opts.protocol,
      storage: this.plantedStorage(storage),
      transport: links,
      clock,
      randomSeed: Math.floor(parts.random.next() * 2 ** 32),
      tickMs: TICK_MS,
      publishEveryMs: 0,
      session: opts.simBugs?.restartRequestNumbering
        ? `n${node.id}`
        : `n${node.id}-${life.number}-${parts.random.int(0, 2 ** 30).toString(36)}`,
      core: this.coreConfig(node),
      ...(opts.inputRecorder !== undefined ? { inputs: opts.inputRecorder(node.id, life.number) } : {}),
      probe: {
        onReady: (core, ready) =>
          parts.watch.onReady(node.id, core as unknown as SimCore<M>, ready as unknown as Ready<M, unknown>),
        onRelease: (ready) => parts.watch.onRelease(node.id, ready),
      },
    });
    node.replica.start();
    if (node.incarnations > 1) world.checker.onRestart(node.id, node.replica.inspectCore() as unknown as SimCore<M>);
    return true;
  }

  /** The incarnation's storage over the node's disk: what it recovers, how long each write takes, where it may crash. */
  private storage(node: SimNode, life: Incarnation): SimStorage {
    const { world, parts } = this;
    const { opts } = world;
    const forget = opts.simBugs?.forgetPromiseOnRestart === true && node.incarnations > 1;
    const recovered = forget ? node.disk.durable.filter((r) => !world.adapter.isPromiseRecord(r)) : node.disk.durable;
    return new SimStorage(
      world,
      life,
      node.disk,
      {
        writeLatencyMs: () => world.profile.writeMinMs + parts.netRandom.next() * world.profile.writeSpreadMs,
        onDurable: (records) => parts.watch.onDurable(node.id, records),
        crashHere: (point) => parts.chaos.maybeCrashAt(node, life, point),
        onSnapshotDurable: (snapshot, records) => {
          world.tracer?.checkpointDurable(node.id, snapshot, records);
          parts.watch.onSnapshotDurable(node.id, snapshot);
        },
        onMarked: (reached) => parts.disks.onMarked(node.id, reached),
        markLatencyMs: () => 2 * (world.profile.writeMinMs + world.profile.writeSpreadMs),
        ackBeforeFsync: opts.simBugs?.ackBeforeFsync === true,
      },
      recovered,
    );
  }

  /**
   * A seed compacts every few slots (Multi) or learned keys (Basic), 3 to 64,
   * so snapshots, their crash points and their installation run in every schedule.
   */
  private snapshotEverySlots(): number {
    const { opts } = this.world;
    return opts.snapshotEverySlots ?? must([3, 7, 16, 64][opts.seed % 4], 'a seed is a non-negative integer');
  }

  private coreConfig(node: SimNode): Partial<CoreConfig> {
    const { opts, swarm } = this.world;
    const bugs = opts.bugs ?? {};
    return {
      // What an orchestrator's manifest would tell a (re)starting replica: where the cluster's voters are now.
      ...(this.world.membershipChanges ? { contacts: this.world.latestVoters() } : {}),
      snapshotEverySlots: this.snapshotEverySlots(),
      bugs: node.incarnations > 1 ? bugs : { ...bugs, reuseBallotAfterRestart: false },
      ...(node.lostDisk === true ? { recoverLostDisk: true } : {}),
      ...(opts.backoff === false ? { backoff: false } : {}),
      ...(opts.sessionHorizonSlots !== undefined ? { sessionHorizonSlots: opts.sessionHorizonSlots } : {}),
      ...(opts.maxSessions !== undefined ? { maxSessions: opts.maxSessions } : {}),
      ...(swarm !== null
        ? {
            electionTimeoutTicks: swarm.electionTimeoutTicks,
            heartbeatTicks: swarm.heartbeatTicks,
            maxBatchEntries: swarm.maxBatchEntries,
          }
        : {}),
    };
  }

  /** The planted bug "reply before persist": storage that says a write is durable the moment it starts. */
  private plantedStorage(storage: SimStorage): SimStorage {
    const { opts } = this.world;
    if (opts.simBugs?.lazyBasicChosen && opts.protocol === 'basic') {
      const append = storage.append.bind(storage);
      storage.append = (records, done) => {
        const chosen = records.filter((r) => (r as { t?: string }).t === 'chosen');
        const rest = records.filter((r) => (r as { t?: string }).t !== 'chosen');
        storage.appendLazy(chosen);
        if (rest.length > 0) append(rest, done);
        else done(null);
      };
    }
    if (!opts.simBugs?.replyBeforePersist) return storage;
    const append = storage.append.bind(storage);
    storage.append = (records, done) => {
      append(records, () => undefined);
      done(null);
    };
    return storage;
  }

  crash(node: SimNode, where = ''): void {
    if (node.replica === null) return;
    const { world, parts } = this;
    node.life.alive = false;
    parts.disks.beforeCrash(node);
    node.replica = null;
    node.links = null;
    parts.disks.afterCrash(node);
    world.note(`${nodeName(node.id)} CRASHED${where ? ` ${where}` : ''}`);
    world.tracer?.crashed(node.id, where.replace(/^at /, ''));
  }

  /** A new incarnation of a crashed replica, unless a start found its disk damaged. */
  restart(node: SimNode): void {
    if (this.parts.disks.isOut(node.id)) return;
    const head = node.disk.snapshot?.[0] as { slot?: number } | undefined;
    const snap = head?.slot === undefined ? '' : ` and a snapshot at slot ${head.slot}`;
    this.world.note(`${nodeName(node.id)} RESTARTED from ${node.disk.durable.length} records${snap}`);
    this.world.tracer?.restarted(node.id);
    this.boot(node);
  }
}
