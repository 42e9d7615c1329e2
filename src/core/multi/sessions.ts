/**
 * The replicated table of applied client commands (Raft dissertation §6.3,
 * TigerBeetle's client sessions). Every replica derives it from the chosen
 * log in slot order, the same way, so every replica makes the same decision
 * for every command: apply it, answer it as a duplicate, or refuse it.
 *
 * The table forgets a command once it was applied more than `horizonSlots`
 * slots ago. That is safe because of the second rule: a command is only
 * applied if it is chosen within `horizonSlots` of `base`, the commit point
 * its proposer saw when it created the command. A late copy of a forgotten
 * command was necessarily created before the original was applied, so it is
 * older than the horizon and is refused, never applied twice. The memory is
 * bounded by the horizon: at most one entry per slot.
 */
import type { Command, CommandIdentity } from '../types.js';

export type SessionVerdict =
  | { readonly kind: 'apply' }
  /** Already applied at `slot`: answer the client as that application did, change nothing. */
  | { readonly kind: 'duplicate'; readonly slot: number }
  /** Too old to tell whether it was applied before: not applied; its client is told the outcome is unknown. */
  | { readonly kind: 'expired' }
  /** The identity was applied for a different command: a client bug; refused and never applied. */
  | { readonly kind: 'identity-reused'; readonly slot: number };

interface Applied {
  readonly slot: number;
  readonly fingerprint: number;
}

/** One applied command as a snapshot keeps it. */
export interface SessionEntry {
  readonly session: string;
  readonly seq: number;
  readonly slot: number;
  readonly fingerprint: number;
}

export class SessionTable {
  private readonly sessions = new Map<string, Map<number, Applied>>();
  /** Applied commands in slot order, for eviction: a ring would do, but slots only grow so a queue with a head index is enough. */
  private order: { session: string; seq: number; slot: number }[] = [];
  private head = 0;

  constructor(private readonly horizonSlots: number) {
    if (!Number.isInteger(horizonSlots) || horizonSlots < 1) throw new Error(`session horizon must be a positive number of slots, got ${horizonSlots}`);
  }

  /** Decides what to do with the command chosen at `slot`, and records it when it is applied. */
  admit(o: { identity: CommandIdentity; command: Command; base: number; slot: number }): SessionVerdict {
    this.evictBefore(o.slot - this.horizonSlots);
    const seqs = this.sessions.get(o.identity.session);
    const known = seqs?.get(o.identity.seq);
    const fingerprint = fingerprintOf(o.command);
    if (known !== undefined) {
      return known.fingerprint === fingerprint ? { kind: 'duplicate', slot: known.slot } : { kind: 'identity-reused', slot: known.slot };
    }
    if (o.slot - o.base > this.horizonSlots) return { kind: 'expired' };
    this.remember(o.identity, o.slot, fingerprint, seqs);
    return { kind: 'apply' };
  }

  /** The remembered commands, oldest application first: what a snapshot keeps of the table. */
  entries(): SessionEntry[] {
    const out: SessionEntry[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const e = this.order[i]!;
      const applied = this.sessions.get(e.session)?.get(e.seq);
      if (applied !== undefined) out.push({ session: e.session, seq: e.seq, slot: applied.slot, fingerprint: applied.fingerprint });
    }
    return out;
  }

  /** Replaces the table with a snapshot's entries (given oldest first, as `entries` returns them). */
  restore(entries: readonly SessionEntry[]): void {
    this.sessions.clear();
    this.order = [];
    this.head = 0;
    for (const e of entries) {
      let table = this.sessions.get(e.session);
      if (table === undefined) this.sessions.set(e.session, (table = new Map()));
      table.set(e.seq, { slot: e.slot, fingerprint: e.fingerprint });
      this.order.push({ session: e.session, seq: e.seq, slot: e.slot });
    }
  }

  /** The slot at which `identity` was applied, if the table still remembers it. */
  appliedAt(identity: CommandIdentity): number | undefined {
    return this.sessions.get(identity.session)?.get(identity.seq)?.slot;
  }

  /** Applied commands remembered; bounded by the horizon. */
  size(): number {
    return this.order.length - this.head;
  }

  private remember(id: CommandIdentity, slot: number, fingerprint: number, seqs: Map<number, Applied> | undefined): void {
    let table = seqs;
    if (table === undefined) this.sessions.set(id.session, (table = new Map()));
    table.set(id.seq, { slot, fingerprint });
    this.order.push({ session: id.session, seq: id.seq, slot });
  }

  private evictBefore(slot: number): void {
    while (this.head < this.order.length && this.order[this.head]!.slot < slot) {
      const e = this.order[this.head++]!;
      const seqs = this.sessions.get(e.session);
      seqs?.delete(e.seq);
      if (seqs !== undefined && seqs.size === 0) this.sessions.delete(e.session);
    }
    // Compact now and then so the queue's dead prefix does not grow with the log.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

/** FNV-1a over the command's fields: cheap, and enough to tell a reused identity from a retry. */
export function fingerprintOf(c: Command): number {
  let h = 0x811c9dc5;
  const text = c.op === 'set' ? `s\u0000${c.key}\u0000${c.value}` : c.op === 'get' ? `g\u0000${c.key}` : `c\u0000${c.fromEpoch}\u0000${c.voters.join(',')}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function commandId(id: CommandIdentity): string {
  return `${id.session}:${id.seq}`;
}
