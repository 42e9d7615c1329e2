/**
 * The administrator (Multi, during the fault phase): adds, removes and
 * replaces replicas, sometimes asking for two changes at once, as `paxos add`
 * and `paxos remove` do, drawing from its own random stream so schedules
 * without membership changes draw exactly what they drew before.
 */

import { DEFAULTS } from '../core/config.js';
import { commandId } from '../core/multi/sessions.js';
import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import type { Command, NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import { describeCommand, type SimNode, type World } from './events.js';
import { ShapeDraws } from './swarm-shapes.js';

/** The smallest session horizon under which the administrator reuses its last change's identity (swarm-shapes.ts). */
const MIN_HORIZON_TO_REUSE = 1024;

export class Administrator<M extends PeerMessage> {
  private readonly random: Random;
  private busy = false;
  /** Configuration changes asked for. */
  changesAsked = 0;
  /** Every configuration this administrator has seen, oldest first: a stale view is one of these. */
  private readonly seen: { epoch: number; voters: readonly NodeId[] }[] = [];
  /** Every change asked for: while its epoch is the latest it may still be chosen. */
  private readonly asked: { fromEpoch: number; voters: readonly NodeId[] }[] = [];

  constructor(
    private readonly world: World<M>,
    seed: number,
  ) {
    this.random = new Random((seed ^ 0x5eed5) >>> 0);
    this.shapes = world.swarm === null ? null : new ShapeDraws(seed, world.swarm.shapes);
  }

  /** A confused administrator's shapes (swarm-shapes.ts), drawing from their own stream. */
  private readonly shapes: ShapeDraws | null;

  /** Whether the administrator sent this identity (`commandId` form) again for another change, so its refusal is expected. */
  reusedIdentity(id: string): boolean {
    return this.shapes?.reused.has(id) ?? false;
  }

  /** The administrator's first turn, a moment into the run. */
  start(): void {
    this.world.schedule(this.random.int(100, 500), { kind: 'admin' });
  }

  /**
   * The administrator's turn: add a replica (it joins as a learner, and is
   * made a voter a moment later, caught up or not), remove one, replace one,
   * or ask for two changes at once; each change names the epoch it replaces.
   */
  onAdmin(): void {
    const { world } = this;
    if (world.settled || world.now > world.settleAtMs - 400) return;
    world.schedule(this.random.int(150, 600), { kind: 'admin' });
    if (this.busy) return;
    const r = this.random;
    const m = this.view();
    const roll = r.next();
    const canAdd = world.nodes.length < world.opts.clusterSize + 3 && m.voters.length < 7;
    // A voter whose disk was damaged is replaced, as an operator runs `paxos replace`; until then no healthy voter
    // goes, so the damaged ones stay a minority of every configuration (disk-faults.ts).
    // One that recovers (`paxos recover`) earns its vote back by its own re-admission instead, and until then it votes
    // nowhere: a careful operator changes nothing meanwhile, since a configuration whose quorums need it (a healthy
    // voter removed) would wait for a re-admission that only such a quorum can choose (seed 459 at 3 replicas).
    // One recovered and damaged again is a damaged voter until it starts recovering anew (seed 2068077 at 3 replicas).
    const damaged = m.voters.filter((v) => world.diskDamaged(v) && world.diskRecovery(v) === 'none');
    if (damaged.length > 0) return m.voters.length > 1 ? this.remove(m, r.pick(damaged), canAdd) : undefined;
    if (m.voters.some((v) => world.diskRecovery(v) === 'recovering')) return;
    if (roll < 0.4 && canAdd) return this.add();
    if (roll < 0.65 && m.voters.length > 1) return this.remove(m, r.pick(m.voters), false);
    if (roll < 0.8 && canAdd && m.voters.length > 1) return this.remove(m, r.pick(m.voters), true);
    if (roll < 0.9 && canAdd && m.voters.length > 1) {
      // Two changes from one view of the configuration: compare-and-set lets at most one of them through.
      const joiner = world.addNode();
      const victim = r.pick(m.voters);
      this.askChange({ fromEpoch: m.epoch, voters: [...m.voters, joiner.id] }, () => undefined);
      return this.askChange({ fromEpoch: m.epoch, voters: m.voters.filter((v) => v !== victim) }, () => undefined);
    }
  }

  /**
   * The configuration the administrator acts on: the latest, or (swarm, with
   * the seed's stale-admin rate) one it saw earlier, as an operator whose
   * `paxos status` is a few seconds old would. Such a change names an epoch
   * that has ended, and compare-and-set must refuse it.
   */
  private view(): { epoch: number; voters: readonly NodeId[] } {
    const latest = this.world.checker.latestMembership();
    const last = this.seen[this.seen.length - 1];
    if (last === undefined || last.epoch !== latest.epoch)
      this.seen.push({ epoch: latest.epoch, voters: [...latest.voters] });
    const rate = this.world.swarm?.staleAdminRate ?? 0;
    if (rate > 0 && this.seen.length > 1 && this.random.chance(rate)) {
      const stale = this.random.pick(this.seen.slice(0, -1));
      this.world.noteAndTrace(`admin: acts on a stale view, epoch ${stale.epoch} (latest ${latest.epoch})`);
      return stale;
    }
    return latest;
  }

  /**
   * The voters of every change asked for that may still be chosen and applied: one naming the latest epoch, or a later
   * one (a confused administrator's), which applies once another change has opened the epoch it names. Seed 2368181 (6
   * replicas, grown to 9): a change naming epoch 4, sent while epoch 3 governed, was left out, so two voters of its
   * four were damaged while it was pending; the change to epoch 4 came first, it applied, and epoch 4 had two
   * recovering voters of four, which no quorum could re-admit.
   */
  pendingConfigurations(): (readonly NodeId[])[] {
    const latest = this.world.checker.latestMembership().epoch;
    return this.asked.filter((c) => c.fromEpoch >= latest).map((c) => c.voters);
  }

  /** A new replica joins as a learner; the change that makes it a voter names the configuration current a moment later. */
  private add(): void {
    const { world } = this;
    const joiner = world.addNode();
    world.noteAndTrace(`admin: ${nodeName(joiner.id)} starts as a learner`);
    this.busy = true;
    world.schedule(this.random.int(0, 400), {
      kind: 'call',
      fn: () => {
        const now = this.view();
        this.askChange({ fromEpoch: now.epoch, voters: [...now.voters, joiner.id] }, () => {
          this.busy = false;
        });
      },
    });
  }

  /** Removes `victim`; once that is chosen the replica is stopped for good, and with `replace` a fresh one joins in its place. */
  private remove(m: { epoch: number; voters: readonly NodeId[] }, victim: NodeId, replace: boolean): void {
    this.busy = true;
    const voters = m.voters.filter((v) => v !== victim);
    this.askChange({ fromEpoch: m.epoch, voters }, (ok, opens) => {
      this.busy = false;
      if (!ok) return;
      if (this.random.chance(0.6))
        this.retireWhenHandedOver(
          must(this.world.nodes[victim - 1], 'a voter of the latest view is a node the world added'),
          opens,
          voters,
        );
      if (replace && !this.world.settled) this.add();
    });
  }

  /**
   * Stops a removed replica for good, as `paxos remove` does, but only once a
   * majority of the new configuration has entered it: until then the removed
   * replica may be the only one that knows its stop-sign is chosen.
   */
  private retireWhenHandedOver(node: SimNode, epoch: number, voters: readonly NodeId[]): void {
    const { world } = this;
    // After the heal every replica must be up (and clients may be waiting on this one), so it stays, as a learner.
    if (world.settled) return;
    const entered = voters.filter(
      (id) => (world.nodes[id - 1]?.replica?.inspectCore().view().membership?.epoch ?? -1) >= epoch,
    ).length;
    if (entered * 2 <= voters.length)
      return world.schedule(50, { kind: 'call', fn: () => this.retireWhenHandedOver(node, epoch, voters) });
    // A change naming this epoch or a later one may still be chosen and make it a voter again: it stays, as a learner.
    if (this.asked.some((c) => c.fromEpoch >= epoch && c.voters.includes(node.id))) return;
    node.retired = true;
    world.crash(node, 'for good: removed from the configuration');
  }

  /** Sends one configuration change to a live voter, as `paxos add` and `paxos remove` send theirs to the leader. */
  private askChange(
    change: { fromEpoch: number; voters: readonly NodeId[] },
    whenDone: (ok: boolean, opens: number) => void,
  ): void {
    const { world } = this;
    let answered = false;
    // `opens`: the epoch the change starts once applied. A confused administrator's change names a later epoch than
    // its view (swarm-shapes.ts), and is applied only once that epoch is in force: retiring the removed replica by the
    // view's epoch stopped it while it alone held the stop-sign it had just chosen (seed 3152365, 3 replicas).
    const done = (ok: boolean, opens = change.fromEpoch + 1) => {
      if (answered) return;
      answered = true;
      whenDone(ok, opens);
    };
    // A replica that crashes with the request never answers: the administrator stops waiting after the deadline.
    world.schedule(1700, { kind: 'call', fn: () => done(false) });
    const live = change.voters.concat(world.latestVoters()).filter((id) => world.nodes[id - 1]?.replica != null);
    if (live.length === 0) return done(false);
    const node = must(world.nodes[this.random.pick(live) - 1], 'a live voter is a node the world added');
    const replica = node.replica;
    if (replica === null) return done(false);
    // Numbered by the replica asked, as `paxos add` and `paxos remove` leave it: a change is never retried elsewhere.
    const fresh = replica.nextIdentity();
    // Only a change from the latest view may name the epoch after it: its voters then hold no replica stopped for good.
    const latest = world.checker.latestMembership().epoch;
    const named =
      this.shapes === null || change.fromEpoch !== latest
        ? change
        : { ...change, fromEpoch: this.shapes.namedEpoch(change.fromEpoch) };
    const horizon = world.opts.sessionHorizonSlots ?? DEFAULTS.sessionHorizonSlots;
    // A reuse the table may have forgotten by the time the change is chosen is a new command (own-sessions.ts), not the
    // refused stop-sign this shape is for: with a horizon of a few slots, which the cluster passes in a moment, none.
    const remembered = (slot: number) =>
      horizon >= MIN_HORIZON_TO_REUSE && (replica.inspectCore().view().commitIndex ?? 0) - slot < horizon / 2;
    const { identity, reused } = this.shapes?.changeIdentity({
      node: node.id,
      life: node.life,
      fresh,
      id: commandId,
      remembered,
    }) ?? {
      identity: fresh,
      reused: false,
    };
    const command: Command = { op: 'config', fromEpoch: named.fromEpoch, voters: [...named.voters] };
    this.changesAsked++;
    this.asked.push(named);
    // A reused identity names the change first sent under it: the checker keeps that one.
    if (!reused) {
      world.checker.noteProposed('config', commandId(identity));
      world.checker.noteConfigProposed(commandId(identity), named);
    }
    world.noteAndTrace(`admin → ${nodeName(node.id)} ${describeCommand(command)}`);
    const life = node.life;
    replica.request(command, { identity, timeoutMs: 1500 }, (reply) => {
      if (!life.alive) return done(false);
      world.noteAndTrace(
        `admin ← ${nodeName(node.id)} ${reply.ok ? `ok at slot ${reply.slot}` : `${reply.outcome} (${reply.code})`}`,
      );
      if (reply.ok) world.checker.onChangeAcknowledged(node.id, named, reply.slot ?? 0);
      if (reply.ok && !reused) this.shapes?.noteApplied(node.id, life, identity, reply.slot ?? 0);
      this.restartAfterChange();
      done(reply.ok, named.fromEpoch + 1);
    });
  }

  /** A confused operator's restart right after a change (swarm-shapes.ts): the replay of the changes meets the new configuration. */
  /** `node` applied a change sent under a reused identity and refused it: while it leads, it may crash a moment later. */
  afterRefusedChange(node: NodeId): void {
    const n = this.world.nodes[node - 1];
    if (n === undefined || n.replica?.inspectCore().view().role !== 'leader') return;
    const when = this.shapes?.crashAfterRefusedStop() ?? null;
    if (when !== null) this.crashLater(n, when.crashInMs, when.restartInMs, 'right after refusing its stop-sign');
  }

  private crashLater(node: SimNode, crashInMs: number, restartInMs: number, why: string): void {
    const { world } = this;
    world.schedule(crashInMs, {
      kind: 'call',
      fn: () => {
        if (world.settled || node.replica === null || node.retired) return;
        world.crash(node, why);
        world.schedule(restartInMs, { kind: 'restart', node: node.id });
      },
    });
  }

  private restartAfterChange(): void {
    const { world } = this;
    if (world.settled) return;
    const up = world.nodes.filter((n) => n.replica !== null && !n.retired);
    const leaders = up.filter((n) => n.replica?.inspectCore().view().role === 'leader');
    const victim = this.shapes?.restartAfterChange(
      up.map((n) => n.id),
      leaders.map((n) => n.id),
    );
    const node = victim === undefined || victim === null ? undefined : world.nodes[victim.node - 1];
    if (victim === undefined || victim === null || node === undefined) return;
    this.crashLater(node, victim.crashInMs, victim.restartInMs, 'right after a configuration change');
  }
}
