/**
 * Chaos during the fault phase: every 100 ms it may partition or heal the
 * network and crash a replica (restarting it a moment later), drawing from the
 * world's main random stream, and pause one (pauses.ts, its own stream); and at every crash point inside Ready processing
 * it may kill the replica right there, drawing from its own crash stream.
 */
import type { Random } from '../core/random.js';
import type { NodeId } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import type { SimNode, World } from './events.js';
import type { SimNetwork } from './network.js';
import { Pauses } from './pauses.js';
import { ShapeDraws } from './swarm-shapes.js';
import type { Incarnation } from './twins.js';

export const CHAOS_EVERY_MS = 100;

export class Chaos<M extends PeerMessage> {
  constructor(
    private readonly world: World<M>,
    private readonly network: SimNetwork<M>,
    /** The world's main stream, shared with the replicas' boots: partitions and whole-replica crashes. */
    private readonly random: Random,
    /** Crashes inside Ready processing. */
    private readonly crashRandom: Random,
  ) {
    this.shapes = world.swarm === null ? null : new ShapeDraws(world.opts.seed, world.swarm.shapes);
    const shapes = world.swarm?.shapes;
    this.pauses =
      world.swarm?.faults.includes('pause') === true && shapes !== undefined && shapes.pausePer100Ms > 0
        ? new Pauses(world, shapes)
        : null;
  }

  /** Paused replicas (pauses.ts), drawing from their own stream; null when the seed has them off. */
  readonly pauses: Pauses<M> | null;

  /** Shaped partitions (swarm-shapes.ts), drawing from their own stream. */
  private readonly shapes: ShapeDraws | null;
  /** Counts partitions, so a partition's own timed heal never heals a later one. */
  private partitions = 0;

  onChaos(): void {
    const { world } = this;
    if (world.settled) return;
    const r = this.random;
    if (r.chance(world.profile.partitionPer100Ms)) this.togglePartition();
    if (r.chance(world.profile.crashPer100Ms)) {
      const up = world.nodes.filter((n) => n.replica !== null);
      if (up.length > 0) {
        const victim = r.pick(up);
        world.crash(victim);
        world.schedule(r.int(50, 600), { kind: 'restart', node: victim.id });
      }
    }
    this.pauses?.onChaos();
    world.schedule(CHAOS_EVERY_MS, { kind: 'chaos' });
  }

  private togglePartition(): void {
    if (this.network.partitioned) return this.network.heal();
    const groups = new Map<NodeId, number>();
    for (const n of this.world.nodes) groups.set(n.id, this.random.int(0, 1));
    const shaped = this.shapes?.leaderMinority(this.shapeNodes()) ?? null;
    this.network.partition(shaped ?? groups);
    if (shaped !== null && this.pauses !== null)
      for (const n of this.world.nodes)
        if (shaped.get(n.id) === 1 && n.replica?.inspectCore().view().role === 'leader') this.pauses.onLeaderCut(n);
    const lengthMs = this.shapes?.partitionLengthMs() ?? null;
    const which = ++this.partitions;
    if (lengthMs !== null)
      this.world.schedule(lengthMs, {
        kind: 'call',
        fn: () => {
          if (which === this.partitions && this.network.partitioned && !this.world.settled) this.network.heal();
        },
      });
  }

  private shapeNodes() {
    return this.world.nodes.map((n) => {
      const view = n.replica?.inspectCore().view();
      return { id: n.id, leads: view?.role === 'leader', voters: view?.membership?.voters ?? null };
    });
  }

  /** A crash point inside Ready processing: with the profile's rate, the node dies right here. */
  maybeCrashAt(node: SimNode, life: Incarnation, point: string): boolean {
    const { world } = this;
    if (world.settled || !life.alive || !this.crashRandom.chance(world.profile.midReadyCrashRate)) return false;
    world.crash(node, `at ${point}`);
    world.schedule(this.crashRandom.int(50, 600), { kind: 'restart', node: node.id });
    return true;
  }
}
