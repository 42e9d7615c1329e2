/**
 * The replicated table of client sessions (TigerBeetle's client sessions,
 * Raft dissertation §6.3). Every replica derives it from the chosen log in
 * slot order, the same way, so every replica makes the same decision for
 * every command: apply it, answer it as a duplicate, or refuse it.
 *
 * A client registers a session first: the registration is a command chosen
 * in the log, and the session's number is the slot it was chosen at, so no
 * two registrations share a number, across clients, replicas and restarts.
 * Each request then carries (session, seq). The table holds at most
 * `capacity` sessions; registering one more evicts the least recently used
 * (the one whose last request sits lowest in the log), a decision every
 * replica takes at the same slot. A request of a session the table does not
 * hold (evicted, or never registered) is never applied: its client is told
 * the session was evicted and registers again. A number is never given out
 * twice, so an evicted session can never come back and let a late retry be
 * applied a second time (the slot horizon this replaces could: a retry
 * through another replica got a fresh start once the original was forgotten).
 *
 * Within a session, the table remembers the last `seqWindow` applied
 * sequence numbers and their whole commands; a request numbered at or below
 * what it forgot is not applied (its outcome is unknown to the table).
 *
 * A replica's own sessions (commands it numbered for clients that brought no
 * session) follow the slot horizon of `own-sessions.ts`: only that replica
 * sends them, so they need no registration. Their names are never numbers.
 */
import { must } from '../must.js';
import type { Command, CommandIdentity } from '../types.js';
import { OwnSessions } from './own-sessions.js';

export type SessionVerdict =
  | { readonly kind: 'apply' }
  /** A registration: the session numbered `session` now exists. */
  | { readonly kind: 'registered'; readonly session: string }
  /** Already applied at `slot`: answer the client as that application did, change nothing. */
  | { readonly kind: 'duplicate'; readonly slot: number }
  /** The session is not in the table (evicted, or never registered): not applied, and no request of it ever will be. */
  | { readonly kind: 'evicted' }
  /** Numbered at or below what the session forgot: not applied; whether an earlier copy was can no longer be told. */
  | { readonly kind: 'expired' }
  /** The identity was applied for a different command: a client bug; refused and never applied. */
  | { readonly kind: 'identity-reused'; readonly slot: number };

/** Applied sequence numbers a session remembers: more than a client keeps in flight at once. */
export const SEQ_WINDOW = 4096;

interface Applied {
  readonly slot: number;
  /** The whole command, as `commandText` writes it: a retry is told from a reused identity by comparing it whole. */
  readonly command: string;
}

interface Session {
  /** The log position of its registration or its last request: the least recent is evicted first. */
  lastSlot: number;
  /** Every sequence number at or below it is forgotten (0: none). */
  floor: number;
  readonly applied: Map<number, Applied>;
}

/** One session as a snapshot keeps it (its applied commands travel as `SessionEntry`s). */
export interface SessionHead {
  readonly session: string;
  readonly lastSlot: number;
  readonly floor: number;
}

/** One applied command as a snapshot keeps it. */
export interface SessionEntry {
  readonly session: string;
  readonly seq: number;
  readonly slot: number;
  readonly command: string;
}

/** Whether a session name is a registered session's number (the slot of its registration); other names are replicas' own. */
export function isSessionNumber(session: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(session);
}

export class SessionTable {
  /** In least-recently-used order: a session used again is moved to the end, so the first is the one to evict. */
  private readonly sessions = new Map<string, Session>();
  private readonly own: OwnSessions;

  constructor(o: {
    capacity: number;
    horizonSlots: number;
    seqWindow?: number;
    /** A planted bug only (`digestCommands`): commands under one identity compared by a 32-bit digest of a joined encoding. */
    digestCommands?: boolean;
  }) {
    if (!Number.isInteger(o.capacity) || o.capacity < 1)
      throw new Error(`the session table must hold at least one session, got ${o.capacity}`);
    this.capacity = o.capacity;
    this.seqWindow = o.seqWindow ?? SEQ_WINDOW;
    this.own = new OwnSessions(o.horizonSlots);
    this.digestCommands = o.digestCommands === true;
  }

  private readonly capacity: number;
  private readonly seqWindow: number;
  private readonly digestCommands: boolean;

  /** Decides what to do with the command chosen at `slot`, and records it when it is applied. */
  admit(o: { identity: CommandIdentity; command: Command; base: number; slot: number }): SessionVerdict {
    if (o.command.op === 'register') return this.registration(o);
    if (!isSessionNumber(o.identity.session))
      return this.own.admit({ identity: o.identity, command: commandText(o.command), base: o.base, slot: o.slot });
    const s = this.sessions.get(o.identity.session);
    if (s === undefined) return { kind: 'evicted' };
    this.touch(o.identity.session, s, o.slot);
    const known = s.applied.get(o.identity.seq);
    const command = commandText(o.command);
    if (known !== undefined) {
      return this.sameText(known.command, command)
        ? { kind: 'duplicate', slot: known.slot }
        : { kind: 'identity-reused', slot: known.slot };
    }
    if (o.identity.seq <= s.floor) return { kind: 'expired' };
    s.applied.set(o.identity.seq, { slot: o.slot, command });
    if (s.applied.size > this.seqWindow) this.forgetOldest(s);
    return { kind: 'apply' };
  }

  /** Whether two commands as `commandText` writes them are one command: the texts compared whole, unless the plant digests them. */
  private sameText(a: string, b: string): boolean {
    return this.digestCommands ? joinedDigest(a) === joinedDigest(b) : a === b;
  }

  /**
   * What this table can tell about `identity` now: whether its session is
   * held, and whether the request may already have been applied (it was, or
   * its session or number was forgotten). A replica asks when a request
   * arrives, to know whether it watched every slot where it could be applied.
   */
  status(identity: CommandIdentity): { readonly held: boolean; readonly mayHaveApplied: boolean } {
    if (!isSessionNumber(identity.session))
      return { held: true, mayHaveApplied: this.own.appliedAt(identity) !== undefined };
    const s = this.sessions.get(identity.session);
    if (s === undefined) return { held: false, mayHaveApplied: true };
    return { held: true, mayHaveApplied: s.applied.has(identity.seq) || identity.seq <= s.floor };
  }

  /** Where `identity` was applied and for which command (as `commandText` writes it), if the table still remembers it. */
  appliedAt(identity: CommandIdentity): { readonly slot: number; readonly command: string } | undefined {
    if (!isSessionNumber(identity.session)) return this.own.appliedAt(identity);
    return this.sessions.get(identity.session)?.applied.get(identity.seq);
  }

  /** Sessions held, least recently used first, and the applied commands (replicas' own sessions' too): what a snapshot keeps of the table. */
  entries(): { heads: SessionHead[]; applied: SessionEntry[] } {
    const heads: SessionHead[] = [];
    const applied: SessionEntry[] = this.own.entries();
    for (const [session, s] of this.sessions) {
      heads.push({ session, lastSlot: s.lastSlot, floor: s.floor });
      for (const [seq, a] of s.applied) applied.push({ session, seq, slot: a.slot, command: a.command });
    }
    return { heads, applied };
  }

  /** Replaces the table with a snapshot's (heads least recently used first, as `entries` gives them). */
  restore(heads: readonly SessionHead[], applied: readonly SessionEntry[]): void {
    this.sessions.clear();
    this.own.clear();
    for (const h of heads) this.sessions.set(h.session, { lastSlot: h.lastSlot, floor: h.floor, applied: new Map() });
    for (const e of applied) {
      if (!isSessionNumber(e.session)) this.own.restore(e);
      else this.sessions.get(e.session)?.applied.set(e.seq, { slot: e.slot, command: e.command });
    }
  }

  /**
   * A planted bug only (`applyEvictedSessions`): takes a session it does not
   * hold as if it were new, so a retry of a forgotten request is applied again.
   */
  reopenForPlant(session: string, slot: number): void {
    if (!this.sessions.has(session)) this.sessions.set(session, { lastSlot: slot, floor: 0, applied: new Map() });
  }

  /** Entries held: registered sessions (bounded by the capacity) and replicas' own applied commands (bounded by the horizon). */
  size(): number {
    return this.sessions.size + this.own.size();
  }

  /**
   * A registration travels under the identity of the replica that asked for
   * it, in that replica's own session, and is applied once per identity like
   * any command of it: copies re-sent to a new leader and chosen again answer
   * with the session the first copy opened, instead of opening one each (a
   * stream of them would evict every other client's session).
   */
  private registration(o: { identity: CommandIdentity; command: Command; base: number; slot: number }): SessionVerdict {
    if (isSessionNumber(o.identity.session)) return this.register(o.slot);
    const v = this.own.admit({ identity: o.identity, command: commandText(o.command), base: o.base, slot: o.slot });
    if (v.kind === 'apply') return this.register(o.slot);
    if (v.kind === 'duplicate') return { kind: 'registered', session: String(v.slot) };
    return v;
  }

  private register(slot: number): SessionVerdict {
    const session = String(slot);
    while (this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.sessions.delete(oldest.value);
    }
    this.sessions.set(session, { lastSlot: slot, floor: 0, applied: new Map() });
    return { kind: 'registered', session };
  }

  private touch(name: string, s: Session, slot: number): void {
    s.lastSlot = slot;
    this.sessions.delete(name);
    this.sessions.set(name, s);
  }

  /** Forgets the lowest numbers down to three quarters of the window at once, so the cost is paid rarely. */
  private forgetOldest(s: Session): void {
    const seqs = [...s.applied.keys()].sort((a, b) => a - b);
    const drop = seqs.length - Math.floor((this.seqWindow * 3) / 4);
    for (let i = 0; i < drop; i++) {
      const seq = must(seqs[i], 'an index below the drop count is below the length');
      s.applied.delete(seq);
      s.floor = Math.max(s.floor, seq);
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
  switch (c.op) {
    case 'set':
      return JSON.stringify(['set', c.key, c.value]);
    case 'get':
      return JSON.stringify(['get', c.key]);
    case 'config':
      return JSON.stringify(['config', c.fromEpoch, c.voters]);
    case 'register':
      return JSON.stringify(['register']);
  }
}

/**
 * The planted bug's fingerprint (issue 22, 3b): FNV-1a over the command's fields joined by NUL, 32 bits. A key that
 * holds a NUL swallows the head of the value, so two different commands can join to the same bytes.
 */
function joinedDigest(text: string): number {
  const joined = (JSON.parse(text) as unknown[]).map(String).join('\u0000');
  let h = 0x811c9dc5;
  for (let i = 0; i < joined.length; i++) h = Math.imul(h ^ joined.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Whether two commands are the same command: compared whole, never by a digest. */
export function sameCommand(a: Command, b: Command): boolean {
  return commandText(a) === commandText(b);
}

export function commandId(id: CommandIdentity): string {
  return `${id.session}:${id.seq}`;
}
