/**
 * Shaped faults (swarm testing, Groce et al. ISSTA 2012; FoundationDB's
 * BUGGIFY): the uniform draws of `swarm.ts` almost never build the schedules
 * some bugs need (issue 22): a leader cut off with a minority while the
 * others decide, a partition short enough that the old leader still leads
 * when it heals, an administrator that names an epoch that has not begun or
 * reuses the identity of its last change (so a stop-sign is chosen and then
 * refused), and a replica restarted right after a configuration change.
 * Each shape is a swarm setting drawn from its own stream, printed with the
 * seed and settable as a `paxos sim` flag; off, it draws nothing at run time,
 * so seeds with every shape off keep the schedules they had before.
 */
import { Random } from '../core/random.js';
import type { CommandIdentity, NodeId, Protocol } from '../core/types.js';
import type { PauseDraw } from './pauses.js';
import type { Incarnation } from './twins.js';

const NO_PAUSES = { pausePer100Ms: 0, pauseMaxMs: 0, pauseLeaderRate: 0 };

export interface SwarmShapes {
  /** Chance that a partition puts the leader with a minority of the voters (at most a quorum less one, itself included). */
  readonly leaderMinorityRate: number;
  /** A partition heals by itself after 20 ms up to this (0: it lasts until chaos heals it), so an old leader may still lead. */
  readonly partitionMaxMs: number;
  /** Multi: chance that an administrator's change names the epoch after the latest (a confused operator's script). */
  readonly futureEpochRate: number;
  /** Multi: chance that a change is sent under the identity of the administrator's last change at that replica. */
  readonly reuseChangeIdentityRate: number;
  /** Multi: chance that a replica is crashed, and restarted a moment later, right after a change is answered. */
  readonly restartAfterChangeRate: number;
  /** Chance per 100 ms that a replica is paused (SIGSTOP or the shell's freeze, pauses.ts), when the fault kind pause is on. */
  readonly pausePer100Ms: number;
  /** A pause lasts 5 ms up to this. */
  readonly pauseMaxMs: number;
  /** Chance that a pause goes to a leader when there is one. */
  readonly pauseLeaderRate: number;
}

export const NO_SHAPES: SwarmShapes = {
  leaderMinorityRate: 0,
  partitionMaxMs: 0,
  futureEpochRate: 0,
  reuseChangeIdentityRate: 0,
  restartAfterChangeRate: 0,
  pausePer100Ms: 0,
  pauseMaxMs: 0,
  pauseLeaderRate: 0,
};

const SHAPES_SALT = 0x53485045; // "SHPE"
const SHAPES_RUN_SALT = 0x53485052; // "SHPR"

/**
 * The seed's shapes, from their own stream: adding them moved no draw of `drawSwarm`. The pauses come from theirs
 * (pauses.ts), drawn by the caller, which knows the election timeout they are measured in.
 */
export function drawShapes(
  seed: number,
  protocol: Protocol,
  fixed: Partial<SwarmShapes> = {},
  pauses: PauseDraw = { on: false, ...NO_PAUSES },
): SwarmShapes {
  const r = new Random((seed ^ SHAPES_SALT) >>> 0);
  const drawn: Omit<SwarmShapes, keyof typeof NO_PAUSES> = {
    leaderMinorityRate: r.pick([0, 0, 0.5, 1]),
    partitionMaxMs: r.pick([0, 0, 150, 400]),
    futureEpochRate: r.pick([0, 0, 0.2, 0.5]),
    reuseChangeIdentityRate: r.pick([0, 0, 0.3, 0.6]),
    restartAfterChangeRate: r.pick([0, 0, 0.3, 0.7]),
  };
  const multi = protocol === 'multi';
  return {
    leaderMinorityRate: fixed.leaderMinorityRate ?? drawn.leaderMinorityRate,
    partitionMaxMs: fixed.partitionMaxMs ?? drawn.partitionMaxMs,
    futureEpochRate: multi ? (fixed.futureEpochRate ?? drawn.futureEpochRate) : 0,
    reuseChangeIdentityRate: multi ? (fixed.reuseChangeIdentityRate ?? drawn.reuseChangeIdentityRate) : 0,
    restartAfterChangeRate: multi ? (fixed.restartAfterChangeRate ?? drawn.restartAfterChangeRate) : 0,
    pausePer100Ms: fixed.pausePer100Ms ?? pauses.pausePer100Ms,
    pauseMaxMs: fixed.pauseMaxMs ?? pauses.pauseMaxMs,
    pauseLeaderRate: fixed.pauseLeaderRate ?? pauses.pauseLeaderRate,
  };
}

/** The flag of each shape, in the order `paxos sim` prints them. */
export const SHAPE_FLAGS: readonly { flag: string; option: string; key: keyof SwarmShapes; multiOnly: boolean }[] = [
  { flag: '--leader-minority', option: 'leaderMinority', key: 'leaderMinorityRate', multiOnly: false },
  { flag: '--partition-max-ms', option: 'partitionMaxMs', key: 'partitionMaxMs', multiOnly: false },
  { flag: '--future-epoch', option: 'futureEpoch', key: 'futureEpochRate', multiOnly: true },
  { flag: '--reuse-change-identity', option: 'reuseChangeIdentity', key: 'reuseChangeIdentityRate', multiOnly: true },
  { flag: '--restart-after-change', option: 'restartAfterChange', key: 'restartAfterChangeRate', multiOnly: true },
  { flag: '--pause-rate', option: 'pauseRate', key: 'pausePer100Ms', multiOnly: false },
  { flag: '--pause-max-ms', option: 'pauseMaxMs', key: 'pauseMaxMs', multiOnly: false },
  { flag: '--pause-leader', option: 'pauseLeader', key: 'pauseLeaderRate', multiOnly: false },
];

export function shapeFlags(s: SwarmShapes, protocol: Protocol): string[] {
  return SHAPE_FLAGS.filter((f) => !f.multiOnly || protocol === 'multi').map((f) => `${f.flag} ${s[f.key]}`);
}

/** A replica as the shapes see it: its id, whether it is up and leads, and the voters it knows. */
export interface ShapeNode {
  readonly id: NodeId;
  readonly leads: boolean;
  readonly voters: readonly NodeId[] | null;
}

/**
 * The shapes at run time, drawing from their own stream only for a shape
 * that is on: a seed with a shape off draws exactly what it drew without it.
 */
export class ShapeDraws {
  private readonly random: Random;
  /** The identity of the last change applied, per replica incarnation: another change under it is refused at apply. */
  private readonly lastApplied = new Map<NodeId, { life: Incarnation; identity: CommandIdentity; slot: number }>();
  /** Identities sent again for another change (`commandId` form): the world expects their refusal. */
  readonly reused = new Set<string>();

  constructor(
    seed: number,
    readonly shapes: SwarmShapes,
  ) {
    this.random = new Random((seed ^ SHAPES_RUN_SALT) >>> 0);
  }

  /** Sides for a partition: the leader and fewer than a quorum less one of its voters on side 1, or null to keep `drawn`. */
  leaderMinority(nodes: readonly ShapeNode[]): Map<NodeId, number> | null {
    if (this.shapes.leaderMinorityRate === 0 || !this.random.chance(this.shapes.leaderMinorityRate)) return null;
    const leaders = nodes.filter((n) => n.leads && n.voters !== null);
    if (leaders.length === 0) return null;
    const leader = this.random.pick(leaders);
    const voters = leader.voters ?? [];
    const quorum = Math.floor(voters.length / 2) + 1;
    const others = voters.filter((v) => v !== leader.id);
    const company = this.random.int(0, Math.max(0, quorum - 2));
    const side = new Set([leader.id]);
    while (side.size < company + 1 && others.length > 0)
      side.add(others.splice(this.random.int(0, others.length - 1), 1)[0] as NodeId);
    return new Map(nodes.map((n) => [n.id, side.has(n.id) ? 1 : 0]));
  }

  /** How long a new partition lasts before it heals by itself, or null when it lasts until chaos heals it. */
  partitionLengthMs(): number | null {
    return this.shapes.partitionMaxMs === 0 ? null : this.random.int(20, this.shapes.partitionMaxMs);
  }

  /** The epoch a change names: the latest, or (a confused administrator) the one after it. */
  namedEpoch(latest: number): number {
    return this.shapes.futureEpochRate > 0 && this.random.chance(this.shapes.futureEpochRate) ? latest + 1 : latest;
  }

  /** The identity to send a change under at `node`: `fresh`, or that of the last change applied there (then remembered as reused). */
  changeIdentity(o: {
    node: NodeId;
    life: Incarnation;
    fresh: CommandIdentity;
    id: (i: CommandIdentity) => string;
    /** Whether the session table still holds what was applied at this slot (a reuse past the horizon is a new command). */
    remembered: (slot: number) => boolean;
  }) {
    const { node, life, fresh, id } = o;
    const last = this.lastApplied.get(node);
    const rate = this.shapes.reuseChangeIdentityRate;
    if (last !== undefined && last.life === life && o.remembered(last.slot) && rate > 0 && this.random.chance(rate)) {
      this.reused.add(id(last.identity));
      return { identity: last.identity, reused: true };
    }
    return { identity: fresh, reused: false };
  }

  /**
   * A change answered ok at `node` was applied under `identity`: a later change sent under it there is chosen and then
   * refused by apply, never applied (one sent under an identity never chosen would be a valid change of its own).
   */
  noteApplied(node: NodeId, life: Incarnation, identity: CommandIdentity, slot: number): void {
    if (this.shapes.reuseChangeIdentityRate > 0) this.lastApplied.set(node, { life, identity, slot });
  }

  /** A leader just refused its own stop-sign at apply: when to crash it (before it resends what its followers missed), or null. */
  crashAfterRefusedStop(): { crashInMs: number; restartInMs: number } | null {
    const rate = this.shapes.restartAfterChangeRate;
    if (rate === 0 || !this.random.chance(rate)) return null;
    return { crashInMs: this.random.int(0, 30), restartInMs: this.random.int(10, 200) };
  }

  /**
   * After a change is answered: the replica to crash (the leader, most often: its stop-sign may be chosen while its
   * followers do not know it yet), when, and when it restarts; or null.
   */
  restartAfterChange(
    up: readonly NodeId[],
    leaders: readonly NodeId[],
  ): { node: NodeId; crashInMs: number; restartInMs: number } | null {
    const rate = this.shapes.restartAfterChangeRate;
    if (rate === 0 || up.length === 0 || !this.random.chance(rate)) return null;
    const node = leaders.length > 0 && this.random.chance(0.7) ? this.random.pick(leaders) : this.random.pick(up);
    return { node, crashInMs: this.random.int(0, 60), restartInMs: this.random.int(10, 200) };
  }
}
