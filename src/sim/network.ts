/**
 * The simulated network (TigerBeetle's packet simulator): every message a
 * replica sends is counted and checked, then lost, duplicated or delayed with
 * the profile's rates, drawing from the network's own random stream, and cut
 * while a partition separates its ends. Chaos decides when to partition and
 * heal; the network only holds the sides.
 */
import { describeMessage } from '../core/describe.js';
import type { MultiMessage } from '../core/multi/messages.js';
import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import type { NodeId } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import type { World } from './events.js';
import type { SnapshotChecker } from './snapshot-check.js';

/** The messages a round leaves behind that a slow network may deliver long after: votes, promises and decisions. */
const STALE_KINDS = new Set(['accepted', 'promise', 'commit', 'decide']);
/** How many past messages the network keeps to replay. */
const STALE_SAMPLE = 64;

export class SimNetwork<M extends PeerMessage> {
  private groups: Map<NodeId, number> | null = null;
  /** Messages sent, lost or not. */
  messages = 0;
  /** Stale traffic (swarm): a bounded sample of past messages, some replayed long after their round ended. */
  private readonly sample: { m: M; traceId: number }[] = [];
  /** Its own stream, so schedules without stale traffic draw exactly what they drew before. */
  private readonly staleRandom: Random | null;
  /** Old messages replayed. */
  replayed = 0;

  constructor(
    private readonly world: World<M>,
    /** The network's stream: loss, duplication and delay (the disks' write times draw from it too). */
    private readonly random: Random,
    private readonly snapshots: SnapshotChecker | null,
  ) {
    const rate = world.swarm?.staleReplayRate ?? 0;
    this.staleRandom = rate > 0 ? new Random((world.opts.seed ^ 0x57a1e) >>> 0) : null;
  }

  get partitioned(): boolean {
    return this.groups !== null;
  }

  private cut(a: NodeId, b: NodeId): boolean {
    return this.groups !== null && this.groups.get(a) !== this.groups.get(b);
  }

  send(from: NodeId, m: M): void {
    const { world } = this;
    const profile = world.profile;
    world.checker.onSend(from, m);
    this.snapshots?.onSend(m as MultiMessage);
    this.messages++;
    const traceId = world.tracer?.sent(m) ?? 0;
    // Two tests rather than one `||`, each as before: a cut message draws no loss, so the seed's draws are unchanged.
    if (this.cut(from, m.to)) return world.tracer?.dropped(traceId, 'partition', m.to);
    if (this.random.chance(profile.dropRate)) return world.tracer?.dropped(traceId, 'loss', m.to);
    const copies = this.random.chance(profile.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delayMs = profile.minDelayMs + this.random.next() * profile.delaySpreadMs;
      world.schedule(delayMs, { kind: 'deliver', message: m, traceId });
    }
    this.maybeReplayStale(m, traceId);
  }

  /**
   * Stale traffic: the network remembers a bounded sample of votes, promises
   * and decisions, and now and then delivers one again (sometimes twice), a
   * long time after its round ended. A replica must take it for what it is.
   * It stops at the settle, like loss and duplication.
   */
  private maybeReplayStale(m: M, traceId: number): void {
    const r = this.staleRandom;
    if (r === null || this.world.settled) return;
    if (STALE_KINDS.has((m as { type?: string }).type ?? '')) {
      if (this.sample.length < STALE_SAMPLE) this.sample.push({ m, traceId });
      else this.sample[r.int(0, STALE_SAMPLE - 1)] = { m, traceId };
    }
    if (
      this.sample.length === 0 ||
      !r.chance(must(this.world.swarm, 'stale replay is drawn only under swarm testing').staleReplayRate)
    )
      return;
    const old = r.pick(this.sample);
    const copies = r.chance(0.3) ? 2 : 1;
    this.replayed += copies;
    for (let i = 0; i < copies; i++)
      this.world.schedule(r.int(100, 1500), { kind: 'deliver', message: old.m, traceId: old.traceId });
  }

  deliver(m: M, traceId: number): void {
    const { world } = this;
    const node = must(world.nodes[m.to - 1], 'a message goes to a node the world added');
    if (node.links === null) return world.tracer?.dropped(traceId, 'down', m.to);
    if (this.cut(m.from, m.to)) return world.tracer?.dropped(traceId, 'partition', m.to);
    world.tracer?.delivered(traceId, m.to);
    world.note(describeMessage(world.opts.protocol, m as never));
    node.links.deliver(m);
  }

  /** Splits the replicas into the sides `groups` names (0 or 1 each). */
  partition(groups: Map<NodeId, number>): void {
    const { world } = this;
    this.groups = groups;
    world.tracer?.partitioned(groups);
    const side = (g: number) =>
      world.nodes
        .filter((n) => groups.get(n.id) === g)
        .map((n) => n.id)
        .join(',');
    world.note(`network PARTITIONED into {${side(0)}} and {${side(1)}}`);
  }

  heal(): void {
    this.groups = null;
    this.world.note('network HEALED');
    this.world.tracer?.healed();
  }

  /** The settle's heal: traced when there was a partition, narrated by the settle itself. */
  healForGood(): void {
    if (this.groups !== null) this.world.tracer?.healed();
    this.groups = null;
  }
}
