/**
 * The clients waiting at this replica: admission (one entry per command
 * identity, bounded), sending each command where it can be decided, retries
 * and deadlines, and every reply a client gets. Whether a command took effect
 * is decided elsewhere (the log, the session table, the configuration); this
 * part only tells the client what that decision means for it, in the words
 * of `client-answers.ts`.
 */
import type { Ballot } from '../ballot.js';
import type { ResolvedConfig } from '../config.js';
import { isVoter, type Membership, votersProblem } from '../membership.js';
import type { Outbox } from '../outbox.js';
import {
  type ClientRequest,
  type Command,
  type ConfigCommand,
  type FailureCode,
  failure,
  type NodeId,
} from '../types.js';
import {
  type Answer,
  appliedAnswer,
  changeAnswer,
  deadlineFailure,
  decidedChangeAnswer,
  evicted,
  expiredBySnapshot,
  type Failure,
  identityReused,
  isFailure,
  sessionOnArrival,
  successReply,
} from './client-answers.js';
import type { Context } from './context.js';
import type { CommandValue, ForwardMsg, MultiMessage, MultiRecord } from './messages.js';
import {
  commandId,
  commandText,
  isSessionNumber,
  type SessionTable,
  type SessionVerdict,
  sameCommand,
} from './sessions.js';

/** A command waiting at the replica its client asked; one entry per identity, however often the client retried it here. */
interface PendingRequest {
  readonly requestIds: string[];
  readonly value: CommandValue;
  deadlineTick: number;
  lastSentTick: number;
  /** Times it left this replica (forwarded, or proposed here): once it has, its outcome can no longer be "refused". */
  sends: number;
  /**
   * Whether it may have been applied somewhere this replica did not watch:
   * its session table, when the request arrived, already held it as applied
   * or had forgotten its number, or a snapshot installed since covered slots
   * where its session was evicted. Otherwise every slot where it could be
   * applied is applied here while it waits, so a refusal is a true one.
   */
  mayHaveApplied: boolean;
}

export class Clients {
  private readonly pending = new Map<string, PendingRequest>();

  private readonly cfg: ResolvedConfig;
  private readonly out: Outbox<MultiMessage, MultiRecord>;

  constructor(private readonly ctx: Context) {
    this.cfg = ctx.cfg;
    this.out = ctx.out;
  }

  get size(): number {
    return this.pending.size;
  }

  onRequest(req: ClientRequest): void {
    const id = commandId(req.identity);
    const now = this.ctx.now();
    const deadlineTick =
      now + Math.min(req.timeoutTicks ?? this.cfg.requestTimeoutTicks, this.cfg.maxRequestTimeoutTicks);
    const known = this.pending.get(id);
    if (known !== undefined) {
      // The client retried here while the first copy still waits: one command, answered on every request.
      if (!sameCommand(known.value.command, req.command)) {
        return this.refuse(
          req,
          'identity-reused',
          `the identity ${id} is already waiting here for a different command`,
        );
      }
      known.requestIds.push(req.requestId);
      known.deadlineTick = Math.max(known.deadlineTick, deadlineTick);
      return;
    }
    if (this.pending.size >= this.cfg.maxPendingRequests) {
      return this.refuse(
        req,
        'overloaded',
        `node-${this.ctx.id} has ${this.pending.size} requests waiting; try again later`,
      );
    }
    if (req.command.op === 'config') {
      const problem = votersProblem(req.command.voters);
      if (problem !== null) return this.refuse(req, 'config-invalid', `not a configuration: ${problem}`);
    }
    const session =
      req.command.op === 'register'
        ? null
        : sessionOnArrival(req, {
            sessions: this.ctx.machine.sessions,
            commitIndex: this.ctx.learner.commitIndex,
            applyEvictedSessions: this.ctx.rules.applyEvictedSessions,
          });
    // A session this replica does not hold although its registration slot is applied here is answered at once.
    if (session !== null && 'outcome' in session) {
      this.out.replies.push(failure({ requestId: req.requestId, ...session }));
      return;
    }
    if (this.ctx.rules.staleLocalReads && req.command.op === 'get') {
      this.out.replies.push(
        this.success(req.requestId, req.command, { ballot: this.ctx.acceptor.promised, roundTrips: 0 }),
      );
      return;
    }
    const value: CommandValue = {
      kind: 'cmd',
      id,
      identity: req.identity,
      base: this.ctx.learner.commitIndex,
      origin: this.ctx.id,
      command: req.command,
    };
    const p: PendingRequest = {
      requestIds: [req.requestId],
      value,
      deadlineTick,
      lastSentTick: now,
      sends: 0,
      mayHaveApplied: session?.mayHaveApplied ?? false,
    };
    this.pending.set(id, p);
    this.forward(p);
  }

  /** A command forwarded here: proposed if this replica leads; a follower relays a learner's command once to the leader it follows. */
  onForward(m: ForwardMsg): void {
    const { ctx } = this;
    const leadership = ctx.leadership();
    if (leadership !== null) return leadership.propose(m.value);
    // Otherwise it drops it, and the origin re-forwards.
    const leader = ctx.leader();
    if (!m.relayed && leader !== null && leader !== ctx.id && leader !== m.from) {
      this.out.messages.push({ type: 'forward', from: ctx.id, to: leader, value: m.value, relayed: true });
    }
  }

  /** The leader changed: every waiting command goes where it can now be decided. */
  forwardAll(): void {
    for (const p of this.pending.values()) this.forward(p);
  }

  /** Sends a waiting request where it can be decided: proposed here if this node leads, else to the leader. */
  private forward(p: PendingRequest): void {
    p.lastSentTick = this.ctx.now();
    const leadership = this.ctx.leadership();
    if (leadership !== null) {
      // Counted before it is proposed: a value chosen at once (a cluster of one) is answered inside propose.
      p.sends++;
      leadership.propose(p.value);
      return;
    }
    const to = this.relayTo();
    if (to === null) return;
    p.sends++;
    this.out.messages.push({ type: 'forward', from: this.ctx.id, to, value: p.value });
  }

  /** Whom a follower hands a command to: the leader it follows; a learner, which hears from no leader, asks a voter in turn. */
  private relayTo(): NodeId | null {
    const { ctx } = this;
    const leader = ctx.leader();
    if (leader !== null && leader !== ctx.id) return leader;
    // A learner, a replica removed from the configuration, or one recovering a lost disk (it answers no leader, so
    // it follows none) hears from no leader: a voter relays the command.
    const { membership } = ctx.epochs;
    if (isVoter(membership, ctx.id) && !ctx.recovery.recovering) return null;
    const others = membership.voters.filter((v) => v !== ctx.id);
    return others.length === 0 ? null : ctx.learner.nextOf(others, 'relay');
  }

  private timeoutReason(): { code: FailureCode; error: string } {
    const { ctx } = this;
    // A follower hears only from the leader, so its own count says nothing about a majority:
    // while it hears a live leader, the leader is what it waited for, not a missing quorum.
    const leader = ctx.leader();
    const waitedForLeader = { code: 'timeout' as const, error: `timed out waiting for node-${leader} to decide` };
    if (ctx.hearsLiveLeader()) return waitedForLeader;
    const { epochs } = ctx;
    return epochs.liveness.timeoutReason({
      nowTick: ctx.now(),
      clusterSize: epochs.membership.voters.length,
      quorum: epochs.fullQuorum(),
      otherwise: leader === null ? { code: 'no-leader', error: 'timed out: no leader elected yet' } : waitedForLeader,
    });
  }

  /**
   * Re-sends requests that made no progress and fails those past their
   * deadline. One that ever left this replica may still be chosen, so its
   * client is told the outcome is unknown; one that never left is refused,
   * and dropped here so it never leaves later.
   */
  retry(): void {
    const now = this.ctx.now();
    const retryTicks = 2 * this.cfg.electionTimeoutTicks;
    for (const [id, p] of this.pending) {
      if (now >= p.deadlineTick) {
        this.pending.delete(id);
        this.replyFailure(p, deadlineFailure(this.timeoutReason(), p.sends > 0));
      } else if (now - p.lastSentTick >= retryTicks) {
        this.forward(p);
      }
    }
  }

  /** The command chosen at `slot` was applied, or not, as `verdict` says: its client, if it waits here, learns what that means. */
  answerApplied(slot: number, value: CommandValue, verdict: SessionVerdict, ballot: Ballot | null): void {
    const p = this.take(value.id);
    if (p !== undefined) this.answer(p, appliedAnswer(slot, value, verdict, p), ballot);
  }

  /** A configuration change reached its slot for the first time: `took` says whether it named the epoch in force (or is the one entered before a restart). */
  answerChange(
    slot: number,
    value: CommandValue,
    c: ConfigCommand,
    ballot: Ballot | null,
    o: { took: boolean; problem: string | null; epochInForce: number },
  ): void {
    const p = this.take(value.id);
    if (p !== undefined) this.answer(p, changeAnswer(slot, c, o), ballot);
  }

  /** A retried change that was decided before: in force if it opened the current epoch; otherwise this replica can no longer tell. */
  answerChangeRetry(value: CommandValue, c: ConfigCommand, firstSlot: number, m: Membership): void {
    const p = this.take(value.id);
    if (p === undefined) return;
    // A request waiting under this identity for another command is not the change decided here: its identity is spent.
    const same = sameCommand(p.value.command, value.command);
    this.answer(p, same ? decidedChangeAnswer(c, firstSlot, m) : identityReused(value.id), null);
  }

  /**
   * Clients waiting for commands an installed snapshot (through `slot`) applied
   * learn the outcome from its session table; those whose session it evicted
   * learn that their request will never be applied, and those it may have
   * applied unseen can no longer be refused.
   */
  answerFromSessionTable(sessions: SessionTable, m: Membership, slot: number): void {
    for (const [id, p] of this.pending) {
      const applied = sessions.appliedAt(p.value.identity);
      if (p.value.command.op === 'register') {
        // The table keeps a registration under the identity that asked for it; the session is numbered by its slot.
        if (applied !== undefined && applied.command === commandText(p.value.command)) {
          this.pending.delete(id);
          this.replySuccess(p, applied.slot, null, String(applied.slot));
        } else if (applied === undefined && !isSessionNumber(p.value.identity.session)) {
          // A registration is numbered in this replica's own session: past the horizon it expires like any command.
          this.answerOwnFromSessionTable(id, p, slot);
        }
        continue;
      }
      if (applied === undefined) {
        const { session } = p.value.identity;
        if (!isSessionNumber(session)) {
          this.answerOwnFromSessionTable(id, p, slot);
          continue;
        }
        const status = sessions.status(p.value.identity);
        p.mayHaveApplied ||= status.held && status.mayHaveApplied;
        if (status.held || Number(session) > slot) continue;
        this.pending.delete(id);
        p.mayHaveApplied = true;
        this.replyFailure(
          p,
          evicted(p.value.identity.session, p.mayHaveApplied, `a snapshot through slot ${slot} no longer holds it`),
        );
        continue;
      }
      this.pending.delete(id);
      const c = p.value.command;
      // The installed table knows the identity, but for which command: another client's, under a reused identity, is not ours.
      if (applied.command !== commandText(c) && !this.ctx.rules.installedTableTrustsIdentity) {
        this.replyFailure(p, identityReused(id, applied.slot));
        continue;
      }
      // A configuration change in the table was decided, not necessarily in force: the configuration tells which.
      if (c.op === 'config') this.answer(p, decidedChangeAnswer(c, applied.slot, m), null);
      else this.replySuccess(p, applied.slot, null);
    }
  }

  /**
   * This replica's own command, which the installed table does not hold. It may still be applied while the snapshot's
   * slot is within the horizon of the commit point the command was made at (own-sessions.ts); past it every copy chosen
   * later is expired, so a replica that learns only through snapshots (a lagging or removed replica) would re-send it
   * until its deadline, each copy chosen and expired (a horizon of 8 slots, seed 969 at 3 replicas, snapshots every 2).
   */
  private answerOwnFromSessionTable(id: string, p: PendingRequest, slot: number): void {
    const horizon = this.cfg.sessionHorizonSlots;
    if (this.ctx.rules.waitOnExpiredOwnCommand || slot - p.value.base <= horizon) return;
    this.pending.delete(id);
    this.replyFailure(p, expiredBySnapshot(slot, horizon));
  }

  private take(id: string): PendingRequest | undefined {
    const p = this.pending.get(id);
    if (p !== undefined) this.pending.delete(id);
    return p;
  }

  private answer(p: PendingRequest, a: Answer, ballot: Ballot | null): void {
    if (isFailure(a)) this.replyFailure(p, a);
    else this.replySuccess(p, a.slot, ballot, a.session);
  }

  private replySuccess(p: PendingRequest, slot: number, ballot: Ballot | null, session?: string): void {
    for (const requestId of p.requestIds) {
      this.out.replies.push(
        this.success(requestId, p.value.command, {
          slot,
          ...(session !== undefined ? { session } : {}),
          ballot: ballot ?? this.ctx.acceptor.promised,
          roundTrips: p.sends + (this.ctx.leadership() !== null ? 0 : 1),
        }),
      );
    }
  }

  private success(
    requestId: string,
    c: Command,
    o: { slot?: number; session?: string; ballot: Ballot; roundTrips: number },
  ) {
    return successReply(requestId, c, { ...o, read: (key) => this.ctx.machine.read(key) });
  }

  private replyFailure(p: PendingRequest, f: Failure): void {
    for (const requestId of p.requestIds) this.out.replies.push(failure({ requestId, ...f }));
  }

  private refuse(req: ClientRequest, code: FailureCode, error: string): void {
    this.out.replies.push(failure({ requestId: req.requestId, outcome: 'refused', code, error }));
  }
}
