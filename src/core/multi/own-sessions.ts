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

export class OwnSessions {
  /**
   * Each remembered command by session and number, as the very object the queue holds: a remembered command is one
   * immutable `SessionEntry`, so a snapshot lists the queue as it is instead of building an object per command.
   */
  private readonly sessions = new Map<string, Map<number, SessionEntry>>();
  /** Remembered commands in slot order, for eviction: slots only grow, so a queue with a head index is enough. */
  private order: SessionEntry[] = [];
  private head = 0;
  /**
   * A restore named an identity the table already held (no snapshot taken here does): the queue then holds it twice
   * and no longer says alone what is remembered, so `entries` reads each through the table, as it always did.
   */
  private twice = false;

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

  /** Where the command was applied and what it was: a new object of just those two, as before the table kept entries whole. */
  appliedAt(identity: CommandIdentity): { readonly slot: number; readonly command: string } | undefined {
    const e = this.sessions.get(identity.session)?.get(identity.seq);
    return e === undefined ? undefined : { slot: e.slot, command: e.command };
  }

  /** The remembered commands, oldest application first. */
  entries(): SessionEntry[] {
    if (!this.twice) return this.order.slice(this.head);
    const out: SessionEntry[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const e = must(this.order[i], 'an index below the length is in the queue');
      const applied = this.sessions.get(e.session)?.get(e.seq);
      if (applied !== undefined) out.push(applied);
    }
    return out;
  }

  clear(): void {
    this.sessions.clear();
    this.order = [];
    this.head = 0;
    this.twice = false;
  }

  /** Adds a snapshot's entry (given oldest first, as `entries` returns them). */
  restore(e: SessionEntry): void {
    // Only a restore can name a held identity again: `admit` remembers a command only after finding it unknown.
    if (this.sessions.get(e.session)?.has(e.seq) === true) this.twice = true;
    this.remember(e, e.slot, e.command);
  }

  size(): number {
    return this.order.length - this.head;
  }

  private remember(id: CommandIdentity, slot: number, command: string): void {
    const table = this.sessions.get(id.session) ?? new Map<number, SessionEntry>();
    this.sessions.set(id.session, table);
    // A fresh object in the order a snapshot writes its fields: a restored entry may carry other fields or another order.
    const entry: SessionEntry = { session: id.session, seq: id.seq, slot, command };
    table.set(id.seq, entry);
    this.order.push(entry);
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
