/**
 * Paused replicas (issue 22): users run `paxos pause node-N` (SIGSTOP) and
 * `paxos check` freezes replicas (the shell's `setFrozen`), as a long GC
 * pause does. A paused leader is the classic way to get two leaders at once:
 * its view goes stale while the others elect and decide, then it resumes and
 * acts on the old view before it hears of the new one.
 *
 * A pause is one of two things, as users get them:
 * - `stop`, SIGSTOP: the process runs nothing (twins.ts holds every timer,
 *   turn, socket read and write completion of the incarnation, in order);
 *   its writes in flight still reach the disk; messages to it wait in its
 *   socket buffer and are read at the resume; its interval timer fires once
 *   then and goes on, so time resumes at the resume, not before.
 * - `freeze`, the shell's own freeze (src/node/replica.ts): ticks are
 *   dropped, messages and requests queue in its inbox, nothing is stepped;
 *   a write that completes meanwhile still releases what waited for it.
 *
 * Drawn the swarm way from its own streams (salts PAUS and PAUR): whether a
 * seed pauses at all, how often, how long at most, and how often it aims at
 * a leader; a seed with pauses off draws nothing here at run time, so it
 * runs the schedule it ran before pauses existed.
 */
import { Random } from '../core/random.js';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import type { SimNode, World } from './events.js';
import type { Incarnation, SimHost } from './twins.js';

/** The swarm's draw of pauses for one seed. */
export interface PauseDraw {
  /** Whether the seed has the fault kind `pause` on. */
  readonly on: boolean;
  /** Chance per 100 ms of the fault phase that a replica is paused. */
  readonly pausePer100Ms: number;
  /** A pause lasts 5 ms up to this: from a hiccup to several election timeouts. */
  readonly pauseMaxMs: number;
  /** Chance that a pause goes to a leader when there is one (where the bugs are), else to any replica up. */
  readonly pauseLeaderRate: number;
}

const PAUSE_SALT = 0x50415553; // "PAUS"
const PAUSE_RUN_SALT = 0x50415552; // "PAUR"
/** The shortest pause, in ms. */
const MIN_PAUSE_MS = 5;

/** The seed's pauses, from their own stream: adding them moved no draw of `drawSwarm` or `drawShapes`. */
export function drawPauses(seed: number, electionTimeoutMs: number): PauseDraw {
  const r = new Random((seed ^ PAUSE_SALT) >>> 0);
  const on = r.chance(0.5);
  const pausePer100Ms = r.pick([0.05, 0.15, 0.3]);
  // In election timeouts: pauses as long as one (the leader barely survives) up to several (the others surely elect).
  const pauseMaxMs = Math.min(2500, Math.round(r.pick([1.5, 3, 6]) * electionTimeoutMs));
  const pauseLeaderRate = r.pick([0.5, 0.8, 1]);
  return { on, pausePer100Ms, pauseMaxMs, pauseLeaderRate };
}

interface Paused {
  readonly life: Incarnation;
  readonly mode: 'stop' | 'freeze';
}

/** The pauses at run time, drawing from their own stream; null when the seed has them off. */
export class Pauses<M extends PeerMessage> {
  private readonly random: Random;
  private readonly paused = new Map<NodeId, Paused>();
  /** Pauses begun, for the tests. */
  count = 0;
  /** Per life paused at least once: the time of its pauses that ended, and when the one under way began. */
  private readonly pausedTime = new Map<Incarnation, { endedMs: number; sinceMs: number | null }>();

  /** How long `life` has been paused in all, the pause under way included. */
  pausedMs(life: Incarnation): number {
    const t = this.pausedTime.get(life);
    if (t === undefined) return 0;
    return t.endedMs + (t.sinceMs === null ? 0 : this.world.now - t.sinceMs);
  }

  constructor(
    private readonly world: World<M>,
    private readonly settings: { pausePer100Ms: number; pauseMaxMs: number; pauseLeaderRate: number },
  ) {
    this.random = new Random((world.opts.seed ^ PAUSE_RUN_SALT) >>> 0);
    this.host = { nowMs: () => world.now, at: (delayMs, fn) => world.schedule(delayMs, { kind: 'call', fn }) };
  }

  private readonly host: SimHost;

  /** A chaos tick of the fault phase: with the seed's rate, pause a replica (a leader most often) for a while. */
  onChaos(): void {
    const r = this.random;
    const { pausePer100Ms, pauseLeaderRate } = this.settings;
    if (pausePer100Ms === 0 || !r.chance(pausePer100Ms)) return;
    const up = this.world.nodes.filter((n) => n.replica !== null && !this.isPaused(n));
    if (up.length === 0) return;
    const leaders = up.filter((n) => n.replica?.inspectCore().view().role === 'leader');
    const victim = leaders.length > 0 && r.chance(pauseLeaderRate) ? r.pick(leaders) : r.pick(up);
    this.pauseFor(victim);
  }

  /**
   * A partition just cut this leader off with a minority (swarm-shapes.ts): with the seed's leader rate, it stalls
   * too, as a leader in a long GC pause during a network blip does, so it neither steps down nor hears the others
   * elect until it resumes, still leading on its old view.
   */
  onLeaderCut(leader: SimNode): void {
    const rate = this.settings.pauseLeaderRate;
    if (this.settings.pausePer100Ms === 0 || rate === 0 || this.isPaused(leader) || !this.random.chance(rate)) return;
    this.pauseFor(leader);
  }

  private pauseFor(victim: SimNode): void {
    const r = this.random;
    const lengthMs = r.int(MIN_PAUSE_MS, Math.max(MIN_PAUSE_MS, this.settings.pauseMaxMs));
    const mode = r.chance(0.5) ? 'stop' : 'freeze';
    this.pause(victim, mode, lengthMs);
    const life = victim.life;
    this.host.at(lengthMs, () => this.resume(victim, life));
  }

  private isPaused(n: SimNode): boolean {
    const p = this.paused.get(n.id);
    return p !== undefined && p.life === n.life && n.life.alive;
  }

  private pause(n: SimNode, mode: 'stop' | 'freeze', lengthMs: number): void {
    this.count++;
    this.paused.set(n.id, { life: n.life, mode });
    const t = this.pausedTime.get(n.life) ?? { endedMs: 0, sinceMs: null };
    t.sinceMs = this.world.now;
    this.pausedTime.set(n.life, t);
    if (mode === 'stop') n.life.stop();
    else n.replica?.setFrozen(true);
    const role = n.replica?.inspectCore().view().role ?? 'down';
    this.world.noteAndTrace(
      `${nodeName(n.id)} PAUSED (${mode === 'stop' ? 'SIGSTOP' : 'frozen'}) as ${role} for ${lengthMs}ms`,
    );
  }

  /** Resumes the replica if it is still the life that was paused (a crash meanwhile ended the pause with it). */
  private resume(n: SimNode, life: Incarnation): void {
    const p = this.paused.get(n.id);
    if (p === undefined || p.life !== life) return;
    this.paused.delete(n.id);
    const t = this.pausedTime.get(life);
    if (t !== undefined && t.sinceMs !== null) {
      t.endedMs += this.world.now - t.sinceMs;
      t.sinceMs = null;
    }
    if (!life.alive || n.life !== life) return;
    if (p.mode === 'stop') life.resume(this.host);
    else n.replica?.setFrozen(false);
    this.world.noteAndTrace(`${nodeName(n.id)} RESUMED (${p.mode === 'stop' ? 'SIGCONT' : 'thawed'})`);
  }

  /** The settle: every fault stops, so every paused replica resumes. */
  resumeAll(): void {
    for (const n of this.world.nodes) {
      const p = this.paused.get(n.id);
      if (p !== undefined) this.resume(n, p.life);
    }
  }
}
