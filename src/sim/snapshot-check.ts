/**
 * The simulator's checks of Multi-Paxos snapshots and compaction, written
 * without the core's code: its own replay of the chosen log, its own
 * duplicate rule, so a wrong session table or a wrong snapshot cannot hide
 * behind the code that made it.
 *
 * - A snapshot at slot k equals applying the chosen log up to k: every slot
 *   up to k is chosen by a durable majority, the map is what applying those
 *   commands in order gives, and the session table remembers what they applied.
 * - A promise never passes over compacted slots as if nothing were accepted
 *   there: every slot the acceptor durably accepted at or above both the
 *   prepare's start and the promise's commit point is reported in it.
 */

import type { LogValue, MultiMessage } from '../core/multi/messages.js';
import { commandId } from '../core/multi/sessions.js';
import { joinSnapshotParts } from '../core/multi/snapshot-parts.js';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { ValueAt } from './adapter.js';
import { InvariantViolation } from './invariants.js';

/** What the checker is told about the world: the value chosen at each slot by the definition (in the epoch governing it), and the configuration after it. */
export interface ChosenByDefinition {
  get(slot: string): ValueAt | undefined;
  /** The voters of the configuration that governs `slot`, and the epoch's first slot. */
  membershipAt(slot: number): {
    readonly epoch: number;
    readonly voters: readonly NodeId[];
    readonly startSlot: number;
  };
}

interface Command {
  readonly base: number;
  readonly session: string;
  readonly register: boolean;
  readonly set: { readonly key: string; readonly value: string } | null;
}

/** A registered session's name is the slot of its registration; a replica's own session's name is never a number. */
const isNumber = (session: string) => /^[1-9][0-9]*$/.test(session);

const formatBallot = (b: { round: number; node: number }) => `${b.round}.${b.node}`;
const below = (a: { round: number; node: number }, b: { round: number; node: number }) =>
  a.round < b.round || (a.round === b.round && a.node < b.node);

export class SnapshotChecker {
  /** Every command ever proposed in an accept, by its slot and ballot: what was chosen there. */
  private readonly commands = new Map<string, Command>();
  /** Per node, the latest epoch its disk has recorded (an epoch record, or an installed snapshot that opened it). */
  private readonly durableEpoch = new Map<NodeId, number>();
  /** Per node, per slot, the highest ballot it durably accepted there. */
  private readonly durableVotes = new Map<NodeId, Map<number, { round: number; node: number }>>();

  constructor(
    private readonly chosen: ChosenByDefinition,
    private readonly limits: { readonly horizonSlots: number; readonly maxSessions: number },
  ) {}

  /** Learns what each id in an accept stands for (ids are unique per command, so the first sighting is enough). */
  onSend(m: MultiMessage): void {
    if (m.type === 'accept') for (const e of m.entries) this.noteValue(e.value, e.slot, m.ballot);
    if (m.type === 'promise') this.checkPromise(m);
  }

  private noteValue(v: LogValue, slot: number, ballot: { round: number; node: number }): void {
    if (v.kind !== 'cmd') return;
    const c = v.command;
    // A ballot's leader proposes one value per slot: the pair names the command even when a client reused its identity.
    const at = `${slot}|${formatBallot(ballot)}`;
    if (this.commands.has(at)) return;
    this.commands.set(at, {
      base: v.base,
      session: v.identity.session,
      register: c.op === 'register',
      set: c.op === 'set' ? { key: c.key, value: c.value } : null,
    });
  }

  /** `node` durably entered an epoch starting at `startSlot`: what it held from there on was the ended epoch's, and is gone. */
  onDurableEpoch(node: NodeId, epoch: number, startSlot: number): void {
    this.durableEpoch.set(node, Math.max(epoch, this.durableEpoch.get(node) ?? 0));
    const votes = this.durableVotes.get(node);
    if (votes !== undefined) for (const slot of [...votes.keys()]) if (slot >= startSlot) votes.delete(slot);
  }

  /**
   * A checkpoint's snapshot of `node` reached the disk. Installed across a stop-sign, it is the only record of the
   * epoch it opens (the core writes no epoch record ahead of it): from here the disk holds nothing of the ended epoch
   * at or above that epoch's first slot, even before the log is rewritten (durable.ts drops it on replay).
   */
  onDurableSnapshot(node: NodeId, epoch: number, startSlot: number): void {
    if (epoch > (this.durableEpoch.get(node) ?? 0)) this.onDurableEpoch(node, epoch, startSlot);
  }

  /** A durable accept record of `node` (a leader alone in its configuration sends no accept, but writes this). */
  onDurableAccept(
    node: NodeId,
    ballot: { round: number; node: number },
    entries: readonly { slot: number; value: LogValue }[],
  ): void {
    for (const e of entries) this.noteValue(e.value, e.slot, ballot);
    const slots = entries.map((e) => e.slot);
    let votes = this.durableVotes.get(node);
    if (votes === undefined) {
      votes = new Map();
      this.durableVotes.set(node, votes);
    }
    for (const slot of slots) {
      const cur = votes.get(slot);
      if (cur === undefined || cur.round < ballot.round || (cur.round === ballot.round && cur.node < ballot.node))
        votes.set(slot, ballot);
    }
  }

  private checkPromise(m: Extract<MultiMessage, { type: 'promise' }>): void {
    const floor = Math.max(m.fromSlot, m.commitIndex);
    const reported = new Map(m.accepted.map((e) => [e.slot, e.ballot]));
    for (const [slot, ballot] of this.durableVotes.get(m.from) ?? []) {
      // A vote at the promised ballot or above came after the promise was made: a replica stopped (SIGSTOP) between
      // writing both and sending the promise sends it after the later vote is on disk, and the promise was still true.
      if (slot < floor || !below(ballot, m.ballot)) continue;
      const r = reported.get(slot);
      if (r === undefined || r.round < ballot.round || (r.round === ballot.round && r.node < ballot.node)) {
        throw new InvariantViolation(
          `${nodeName(m.from)} promised ${formatBallot(m.ballot)} to ${nodeName(m.to)} with commit point ${m.commitIndex}, reporting ` +
            `${r === undefined ? 'nothing' : formatBallot(r)} for slot ${slot}, where it durably accepted at ${formatBallot(ballot)}`,
        );
      }
    }
  }

  /** A snapshot a node is about to write (or install): it must be the chosen log applied through its slot. */
  checkSnapshot(node: NodeId, parts: readonly unknown[]): void {
    const s = joinSnapshotParts(parts);
    const expected = this.replay(node, s.slot);
    const kv = new Map(s.kv);
    for (const [key, value] of expected.kv) {
      if (kv.get(key) !== value)
        this.fail(node, s.slot, `key ${key} is ${kv.get(key) ?? 'missing'}, the chosen log gives ${value}`);
    }
    for (const [key, value] of kv)
      if (!expected.kv.has(key)) this.fail(node, s.slot, `key ${key}=${value} is set by no chosen command`);
    const held = s.sessions.map((h) => `${h.session}@${h.lastSlot}`).join(',');
    const heldByLog = [...expected.held].map(([session, last]) => `${session}@${last}`).join(',');
    if (held !== heldByLog)
      this.fail(node, s.slot, `it holds sessions ${held || 'none'}, the chosen log leaves ${heldByLog || 'none'}`);
    const sessions = new Map(s.applied.map((e) => [commandId(e), e.slot]));
    for (const [id, slot] of sessions) {
      if (expected.applied.get(id) !== slot)
        this.fail(
          node,
          s.slot,
          `its session table says ${id} was applied at slot ${slot}, the chosen log says ${expected.applied.get(id) ?? 'never'}`,
        );
    }
    for (const [id, slot] of expected.applied) {
      const session = expected.sessionOf.get(id) ?? '';
      const kept = isNumber(session) ? expected.held.has(session) : slot >= s.slot - this.limits.horizonSlots;
      if (kept && !sessions.has(id))
        this.fail(
          node,
          s.slot,
          `its session table forgot ${id}, applied at slot ${slot}, whose session it still holds`,
        );
    }
    const m = this.chosen.membershipAt(s.slot + 1);
    if (
      s.membership.epoch !== m.epoch ||
      s.membership.startSlot !== m.startSlot ||
      s.membership.voters.join(',') !== m.voters.join(',')
    ) {
      this.fail(
        node,
        s.slot,
        `it names epoch ${s.membership.epoch} (voters ${s.membership.voters.join(',')} from slot ${s.membership.startSlot}), the configurations give epoch ${m.epoch} (voters ${m.voters.join(',')} from slot ${m.startSlot})`,
      );
    }
  }

  private fail(node: NodeId, slot: number, why: string): never {
    throw new InvariantViolation(
      `${nodeName(node)}'s snapshot at slot ${slot} is not the chosen log applied through it: ${why}`,
    );
  }

  /**
   * Applies slots 1..k in order: a registration opens the session numbered by
   * its slot (evicting the one whose last request is lowest once `maxSessions`
   * are held); a command of a registered session applies once per id while
   * its session is held; a replica's own command once per id, and only within
   * the horizon of the commit point it was made at.
   */
  /** The commands the chosen log applies, as far as it is chosen without a gap: value id → slot. */
  appliedCommands(): Map<string, number> {
    let k = 0;
    while (this.chosen.get(String(k + 1)) !== undefined) k++;
    return this.replay(0, k).applied;
  }

  private replay(
    node: NodeId,
    k: number,
  ): {
    kv: Map<string, string>;
    applied: Map<string, number>;
    sessionOf: Map<string, string>;
    held: Map<string, number>;
  } {
    const kv = new Map<string, string>();
    const sessionOf = new Map<string, string>();
    const applied = new Map<string, number>();
    /** Session → the slot of its last request, least recent first. */
    const held = new Map<string, number>();
    for (let slot = 1; slot <= k; slot++) {
      const c = this.chosen.get(String(slot));
      if (c === undefined) this.fail(node, k, `slot ${slot} is in it, but no durable majority chose anything there`);
      if (c.valueId === 'noop') continue;
      const cmd = this.commands.get(`${slot}|${formatBallot(c.ballot)}`);
      if (cmd === undefined) this.fail(node, k, `slot ${slot} holds ${c.valueId}, which no accept ever carried`);
      if (cmd.register) {
        // Once per identity, like any command of the replica's own session that carries it.
        if (applied.has(c.valueId) || (!isNumber(cmd.session) && slot - cmd.base > this.limits.horizonSlots)) continue;
        applied.set(c.valueId, slot);
        sessionOf.set(c.valueId, cmd.session);
        while (held.size >= this.limits.maxSessions) held.delete(leastRecent(held));
        held.set(String(slot), slot);
        continue;
      }
      if (isNumber(cmd.session)) {
        if (!held.has(cmd.session)) continue;
        held.delete(cmd.session);
        held.set(cmd.session, slot);
      } else if (slot - cmd.base > this.limits.horizonSlots) continue;
      if (applied.has(c.valueId)) continue;
      applied.set(c.valueId, slot);
      sessionOf.set(c.valueId, cmd.session);
      if (cmd.set !== null) kv.set(cmd.set.key, cmd.set.value);
    }
    return { kv, applied, sessionOf, held };
  }
}

/** The session whose last request is lowest in the log (found by its slot, not by the order the map keeps). */
function leastRecent(held: Map<string, number>): string {
  let oldest: [string, number] | null = null;
  for (const e of held) if (oldest === null || e[1] < oldest[1]) oldest = e;
  return oldest?.[0] ?? '';
}
