/**
 * A replica that lost its disk, and how it earns its vote back.
 *
 * Its log was found missing, emptied, cut short or rolled back, and the shell
 * started it on a fresh one. It may have promised a ballot or accepted a value
 * that it no longer remembers, and answering a prepare or an accept as if it
 * had not would let a second value be chosen (the amnesia of issue 22). Reading
 * its peers' state cannot give back a promise it made to a candidate nobody
 * else heard from, so recovery does not try to rebuild votes. It rebuilds
 * *what is chosen* (catch-up, as a new replica does) and closes the epochs its
 * forgotten votes belong to:
 *
 *   1. It writes a `recovering` record first, so a crash during recovery
 *      restarts recovery rather than a replica that seems never to have voted.
 *   2. It votes in no epoch and campaigns in none; it learns the log.
 *   3. Once it hears a leader, it asks for its own re-admission: a
 *      configuration change of the epoch it is in, naming the same voters
 *      (a compare-and-set, refused if that epoch already ended; it asks again).
 *   4. When it applies that change as its stop-sign, the epoch it opens began
 *      after the disk was lost, so no forgotten vote belongs to it: the replica
 *      votes from that epoch on (`readmitted` record). Every vote it forgot
 *      belongs to an epoch at or before the one the change stopped, whose slots
 *      are all chosen before the next epoch starts (Stoppable Paxos), and whose
 *      messages the voters of later epochs no longer answer.
 *
 * It is the safe core of Paxos Made Live's rule (§5.1: a replica that lost its
 * disk takes part as a non-voting member until it has seen a complete instance
 * started after it began rebuilding), with reconfiguration (Lamport, Malkhi and
 * Zhou's Stoppable Paxos) supplying the instance that provably began later.
 */
import type { Membership } from '../membership.js';
import type { CommandIdentity } from '../types.js';
import { nodeName } from '../types.js';
import type { Context } from './context.js';
import type { LogValue, MultiRecord } from './messages.js';

/** What a replica's records say about a lost disk: recovering under `session`, and voting again from `votesFromEpoch` once re-admitted. */
export interface RecoveryRecord {
  readonly session: string;
  readonly votesFromEpoch: number | null;
}

/** Asks again this many election timeouts after an ask that has not opened an epoch yet. */
const ASK_EVERY_ELECTION_TIMEOUTS = 4;

export class Recovery {
  private seq = 0;
  private lastAskTick: number | null = null;
  /**
   * The session this incarnation asks under: the recorded one plus a nonce of this start. Its sequence numbers are
   * not durable, so an incarnation that asked under the recorded session itself would, after a crash, ask again
   * with a number already applied to another change (an identity reused, which apply refuses).
   */
  private readonly askSession: string;

  constructor(
    private readonly ctx: Context,
    /** null: this replica never lost its disk. */
    private state: RecoveryRecord | null,
    startNonce = 0,
  ) {
    this.askSession =
      state === null || ctx.rules.recoveryReusesSession
        ? (state?.session ?? '')
        : `${state.session}.${startNonce.toString(16)}`;
  }

  /** Begins recovery on a fresh disk: the record goes first, before any message this replica sends. */
  static begin(ctx: Context, sessionNonce: number): Recovery {
    const session = `recovery.${nodeName(ctx.id)}.${sessionNonce.toString(16)}`;
    ctx.out.persist.push({ t: 'recovering', session });
    ctx.out.events.push({
      type: 'note',
      text: 'lost its disk: learns the log, and votes again only once re-admitted',
    });
    return new Recovery(ctx, { session, votesFromEpoch: null }, sessionNonce);
  }

  /** Whether this replica still may not vote in the epoch it is in: recovering, and not yet in the epoch its re-admission opened. */
  withholdsVote(epoch: number): boolean {
    const s = this.state;
    if (s === null || this.ctx.rules.recoverWithoutReadmission) return false;
    return s.votesFromEpoch === null || epoch < s.votesFromEpoch;
  }

  /** Whether it is still waiting to be re-admitted (the dashboard and status say "recovering"). */
  get recovering(): boolean {
    return this.state !== null && this.state.votesFromEpoch === null;
  }

  /**
   * On a tick: ask for re-admission when the last ask had its time. The ask
   * goes the way a learner's commands go (to a voter, which relays it to its
   * leader), since a replica that answers no leader follows none.
   */
  tick(membership: Membership, knowsLaterEpoch: boolean): void {
    const { ctx } = this;
    const s = this.state;
    if (s === null || s.votesFromEpoch !== null || knowsLaterEpoch) return;
    if (!membership.voters.includes(ctx.id)) return; // Removed meanwhile: a learner has no vote to earn back.
    const now = ctx.now();
    const every = ASK_EVERY_ELECTION_TIMEOUTS * ctx.cfg.electionTimeoutTicks;
    if (this.lastAskTick !== null && now - this.lastAskTick < every) return;
    this.lastAskTick = now;
    const identity: CommandIdentity = { session: this.askSession, seq: ++this.seq };
    ctx.clients.onRequest({
      requestId: `${this.askSession}:${identity.seq}`,
      command: { op: 'config', fromEpoch: membership.epoch, voters: [...membership.voters] },
      identity,
      // Its recovery session: only this replica sends under it, so the horizon rules it, not registration.
      ownSession: true,
      timeoutTicks: every,
    });
  }

  /** A configuration change was applied and opened `epoch`: if it was this replica's own re-admission, it votes from there on. */
  onEpochOpened(value: LogValue, epoch: number): void {
    const s = this.state;
    if (
      s === null ||
      s.votesFromEpoch !== null ||
      value.kind !== 'cmd' ||
      !isOwnSession(value.identity.session, s.session)
    )
      return;
    this.state = { session: s.session, votesFromEpoch: epoch };
    this.ctx.out.persist.push({ t: 'readmitted', epoch });
    this.ctx.out.events.push({
      type: 'note',
      text: `re-admitted: epoch ${epoch} began after it lost its disk, so it votes again`,
    });
  }

  /**
   * A snapshot took this replica past the slots it would have applied: if
   * one of them was its own re-admission (its session's command, applied at
   * the slot before an epoch of the snapshot's chain began), that epoch
   * opened after the loss just as if it had applied it. Without this a
   * replica that learned its re-admission inside a snapshot (a peer that
   * compacts every slot) stayed recovering and asked again and again, each
   * ask opening one more epoch and one more election (seed 2692, 6 replicas).
   */
  onSnapshotRestored(membership: Membership, applied: readonly { session: string; slot: number }[]): void {
    const s = this.state;
    if (s === null || s.votesFromEpoch !== null || this.ctx.rules.readmissionMissedInSnapshot) return;
    const starts = new Map([...(membership.previous ?? []), membership].map((m) => [m.startSlot, m.epoch] as const));
    let opened: number | null = null;
    for (const e of applied) {
      if (!isOwnSession(e.session, s.session)) continue;
      const epoch = starts.get(e.slot + 1);
      if (epoch !== undefined && (opened === null || epoch > opened)) opened = epoch;
    }
    if (opened === null) return;
    this.state = { session: s.session, votesFromEpoch: opened };
    this.ctx.out.persist.push({ t: 'readmitted', epoch: opened });
    this.ctx.out.events.push({
      type: 'note',
      text: `re-admitted: epoch ${opened} began after it lost its disk (learned from a snapshot), so it votes again`,
    });
  }

  /** The records compaction must keep: without them a recovering replica would restart as one that never voted. */
  retained(): MultiRecord[] {
    const s = this.state;
    if (s === null) return [];
    const records: MultiRecord[] = [{ t: 'recovering', session: s.session }];
    if (s.votesFromEpoch !== null) records.push({ t: 'readmitted', epoch: s.votesFromEpoch });
    return records;
  }
}

/** Whether a change was asked under `recorded`, the recovery session, by any incarnation (each adds its own nonce). */
function isOwnSession(session: string, recorded: string): boolean {
  return session === recorded || session.startsWith(`${recorded}.`);
}
