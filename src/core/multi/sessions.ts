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
import { must } from '../must.js';
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
  /** The whole command, as `commandText` writes it: a retry is told from a reused identity by comparing it whole. */
  readonly command: string;
}

/** One applied command as a snapshot keeps it. */
export interface SessionEntry {
  readonly session: string;
  readonly seq: number;
  readonly slot: number;
  readonly command: string;
}

export class SessionTable {
  private readonly sessions = new Map<string, Map<number, Applied>>();
  /** Applied commands in slot order, for eviction: a ring would do, but slots only grow so a queue with a head index is enough. */
  private order: { session: string; seq: number; slot: number }[] = [];
  private head = 0;

  constructor(private readonly horizonSlots: number) {
    if (!Number.isInteger(horizonSlots) || horizonSlots < 1)
      throw new Error(`session horizon must be a positive number of slots, got ${horizonSlots}`);
  }

  /** Decides what to do with the command chosen at `slot`, and records it when it is applied. */
  admit(o: { identity: CommandIdentity; command: Command; base: number; slot: number }): SessionVerdict {
    this.evictBefore(o.slot - this.horizonSlots);
    const seqs = this.sessions.get(o.identity.session);
    const known = seqs?.get(o.identity.seq);
    const command = commandText(o.command);
    if (known !== undefined) {
      return known.command === command
        ? { kind: 'duplicate', slot: known.slot }
        : { kind: 'identity-reused', slot: known.slot };
    }
    if (o.slot - o.base > this.horizonSlots) return { kind: 'expired' };
    this.remember(o.identity, o.slot, command, seqs);
    return { kind: 'apply' };
  }

  /** The remembered commands, oldest application first: what a snapshot keeps of the table. */
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

  /** Replaces the table with a snapshot's entries (given oldest first, as `entries` returns them). */
  restore(entries: readonly SessionEntry[]): void {
    this.sessions.clear();
    this.order = [];
    this.head = 0;
    for (const e of entries) {
      let table = this.sessions.get(e.session);
      if (table === undefined) {
        table = new Map();
        this.sessions.set(e.session, table);
      }
      table.set(e.seq, { slot: e.slot, command: e.command });
      this.order.push({ session: e.session, seq: e.seq, slot: e.slot });
    }
  }

  /** Where `identity` was applied and for which command (as `commandText` writes it), if the table still remembers it. */
  appliedAt(identity: CommandIdentity): { readonly slot: number; readonly command: string } | undefined {
    return this.sessions.get(identity.session)?.get(identity.seq);
  }

  /** Applied commands remembered; bounded by the horizon. */
  size(): number {
    return this.order.length - this.head;
  }

  private remember(id: CommandIdentity, slot: number, command: string, seqs: Map<number, Applied> | undefined): void {
    let table = seqs;
    if (table === undefined) {
      table = new Map();
      this.sessions.set(id.session, table);
    }
    table.set(id.seq, { slot, command });
    this.order.push({ session: id.session, seq: id.seq, slot });
  }

  private evictBefore(slot: number): void {
    // The queue's end is where eviction stops: no entry there.
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

/**
 * The whole command as one string no two different commands share: a JSON
 * array of its fields in a fixed order, so no key or value (NUL and other odd
 * bytes included) can make two commands read alike. A short hash of a joined
 * encoding once let a different command under a reused identity pass as a retry.
 */
export function commandText(c: Command): string {
  return JSON.stringify(
    c.op === 'set' ? ['set', c.key, c.value] : c.op === 'get' ? ['get', c.key] : ['config', c.fromEpoch, c.voters],
  );
}

/** Whether two commands are the same command: compared whole, never by a digest. */
export function sameCommand(a: Command, b: Command): boolean {
  return commandText(a) === commandText(b);
}

export function commandId(id: CommandIdentity): string {
  return `${id.session}:${id.seq}`;
}
