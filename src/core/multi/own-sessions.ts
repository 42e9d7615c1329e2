/**
 * The part of the session table for replicas' own sessions: a client that
 * brings no session (`paxos propose`, the dashboard) has its command numbered
 * in the session of the replica it asked, one per incarnation. Only that
 * replica ever sends such a command, always with `base`, the commit point it
 * saw when it made it, so a horizon in slots is enough (no registration):
 *
 * The table forgets a command once it was applied more than `horizonSlots`
 * slots ago. That is safe because of the second rule: a command is only
 * applied if it is chosen within `horizonSlots` of `base`. A late copy of a
 * forgotten command was necessarily made before the original was applied, so
 * it is older than the horizon and is refused, never applied twice. A client
 * that retries through other replicas must register a session instead
 * (`sessions.ts`): another replica would give its retry a fresh base.
 */
import { must } from '../must.js';
import type { CommandIdentity } from '../types.js';
import type { SessionEntry } from './sessions.js';

export type OwnVerdict =
  | { readonly kind: 'apply' }
  | { readonly kind: 'duplicate'; readonly slot: number }
  | { readonly kind: 'expired' }
  | { readonly kind: 'identity-reused'; readonly slot: number };

interface Applied {
  readonly slot: number;
  readonly command: string;
}

export class OwnSessions {
  private readonly sessions = new Map<string, Map<number, Applied>>();
  /** Applied commands in slot order, for eviction: slots only grow, so a queue with a head index is enough. */
  private order: { session: string; seq: number; slot: number }[] = [];
  private head = 0;

  constructor(private readonly horizonSlots: number) {
    if (!Number.isInteger(horizonSlots) || horizonSlots < 1)
      throw new Error(`session horizon must be a positive number of slots, got ${horizonSlots}`);
  }

  /** Decides what to do with the command (as `commandText` writes it) chosen at `slot`, and records it when it is applied. */
  admit(o: { identity: CommandIdentity; command: string; base: number; slot: number }): OwnVerdict {
    this.evictBefore(o.slot - this.horizonSlots);
    const seqs = this.sessions.get(o.identity.session);
    const known = seqs?.get(o.identity.seq);
    if (known !== undefined) {
      return known.command === o.command
        ? { kind: 'duplicate', slot: known.slot }
        : { kind: 'identity-reused', slot: known.slot };
    }
    if (o.slot - o.base > this.horizonSlots) return { kind: 'expired' };
    this.remember(o.identity, o.slot, o.command);
    return { kind: 'apply' };
  }

  appliedAt(identity: CommandIdentity): Applied | undefined {
    return this.sessions.get(identity.session)?.get(identity.seq);
  }

  /** The remembered commands, oldest application first. */
  entries(): SessionEntry[] {
    const out: SessionEntry[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const e = must(this.order[i], 'an index below the length is in the queue');
      const applied = this.sessions.get(e.session)?.get(e.seq);
      if (applied !== undefined)
        out.push({ session: e.session, seq: e.seq, slot: applied.slot, command: applied.command });
    }
    return out;
  }

  clear(): void {
    this.sessions.clear();
    this.order = [];
    this.head = 0;
  }

  /** Adds a snapshot's entry (given oldest first, as `entries` returns them). */
  restore(e: SessionEntry): void {
    this.remember(e, e.slot, e.command);
  }

  size(): number {
    return this.order.length - this.head;
  }

  private remember(id: CommandIdentity, slot: number, command: string): void {
    const table = this.sessions.get(id.session) ?? new Map<number, Applied>();
    this.sessions.set(id.session, table);
    table.set(id.seq, { slot, command });
    this.order.push({ session: id.session, seq: id.seq, slot });
  }

  private evictBefore(slot: number): void {
    for (let e = this.order[this.head]; e !== undefined && e.slot < slot; e = this.order[this.head]) {
      this.head++;
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
