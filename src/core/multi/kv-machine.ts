/**
 * The replicated state machine: a key-value map, and the session table that
 * decides whether a chosen command is applied (once per identity, only while
 * its session is held). It applies and returns the verdict; it never answers
 * a client, which is the job of `clients.ts`.
 */
import type { Membership } from '../membership.js';
import type { CommandValue } from './messages.js';
import type { Rules } from './rules.js';
import { SessionTable, type SessionVerdict } from './sessions.js';
import { type MultiSnapshot, type SnapshotPart, snapshotParts } from './snapshot-parts.js';

export class KvMachine {
  readonly kv = new Map<string, string>();
  readonly sessions: SessionTable;

  constructor(
    o: { maxSessions: number; horizonSlots: number },
    private readonly rules: Rules,
  ) {
    this.sessions = new SessionTable({
      capacity: o.maxSessions,
      horizonSlots: o.horizonSlots,
      digestCommands: rules.digestCommands,
    });
  }

  /** Applies the command chosen at `slot` as the session table rules, and says what was decided. */
  apply(slot: number, value: CommandValue): SessionVerdict {
    const admission = { identity: value.identity, command: value.command, base: value.base, slot };
    let admitted = this.sessions.admit(admission);
    if (this.rules.applyEvictedSessions && admitted.kind === 'evicted') {
      this.sessions.reopenForPlant(value.identity.session, slot);
      admitted = this.sessions.admit(admission);
    }
    const verdict = this.rules.applyDuplicates && admitted.kind === 'duplicate' ? { kind: 'apply' as const } : admitted;
    const c = value.command;
    if (verdict.kind === 'apply' && c.op === 'set') this.kv.set(c.key, c.value);
    return verdict;
  }

  read(key: string): string | null {
    return this.kv.get(key) ?? null;
  }

  /** The applied state at `slot`, cut into parts for a checkpoint or a peer. */
  snapshot(slot: number, membership: Membership): SnapshotPart[] {
    const { heads, applied } = this.sessions.entries();
    return snapshotParts({ slot, kv: [...this.kv], sessions: heads, applied, membership });
  }

  restore(s: MultiSnapshot): void {
    this.kv.clear();
    for (const [k, v] of s.kv) this.kv.set(k, v);
    this.sessions.restore(s.sessions, s.applied);
  }
}
