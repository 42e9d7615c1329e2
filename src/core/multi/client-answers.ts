/**
 * What a decision means for the client waiting on it, in words: a command
 * applied or refused by the session table (evicted, expired, a reused
 * identity, a registration), a configuration change in force or not, a
 * session unknown on arrival, a deadline passed. Each function reads a
 * decision and returns the answer; `clients.ts` sends it to every request
 * that waits for that command.
 */
import type { Ballot } from '../ballot.js';
import type { Membership } from '../membership.js';
import {
  type ClientRequest,
  type ClientSuccess,
  type Command,
  type ConfigCommand,
  commandKey,
  type FailureCode,
} from '../types.js';
import type { CommandValue } from './messages.js';
import { isSessionNumber, type SessionTable, type SessionVerdict, sameCommand } from './sessions.js';

export type Failure = { outcome: 'refused' | 'unknown'; code: FailureCode; error: string };

/** A client's answer: done at `slot` (a registration with the session it opened), or a failure. */
export type Answer = { readonly ok: true; readonly slot: number; readonly session?: string } | Failure;

export function isFailure(a: Answer): a is Failure {
  return !('ok' in a);
}

/** Another client's command was applied (at `slot`, when known) under this command's identity. */
export function identityReused(id: string, slot?: number): Failure {
  const where = slot === undefined ? '' : ` at slot ${slot}`;
  return {
    outcome: 'refused',
    code: 'identity-reused',
    error: `the command's identity ${id} was already used${where} for a different command`,
  };
}

/**
 * What the session table says of a request as it arrives. A session it does
 * not hold although its registration slot is applied here was evicted (or
 * never registered): no request of it will ever be applied again, so the
 * client is answered at once: refused when the session name is no
 * registration number at all, unknown otherwise (an earlier copy may have
 * been applied before the eviction). Otherwise it says whether the request
 * may already have been applied.
 */
export function sessionOnArrival(
  req: ClientRequest,
  o: { sessions: SessionTable; commitIndex: number; applyEvictedSessions: boolean },
): { mayHaveApplied: boolean } | Failure {
  // The replica's own session: only it sends these commands, and the horizon rules them (own-sessions.ts).
  if (req.ownSession === true && !isSessionNumber(req.identity.session)) return { mayHaveApplied: false };
  const registeredAt = isSessionNumber(req.identity.session) ? Number(req.identity.session) : null;
  const status = o.sessions.status(req.identity);
  if (registeredAt !== null && status.held) return { mayHaveApplied: status.mayHaveApplied };
  // The planted bug forgets that a session it does not hold ever existed, here as where it applies.
  if (registeredAt !== null && o.applyEvictedSessions) return { mayHaveApplied: false };
  if (registeredAt !== null && registeredAt >= o.commitIndex) return { mayHaveApplied: false };
  const id = req.identity.session;
  return registeredAt === null
    ? {
        outcome: 'refused',
        code: 'session-evicted',
        error: `${id} is not a registered session's number; register a session first`,
      }
    : {
        outcome: 'unknown',
        code: 'session-evicted',
        error: `session ${id} was evicted (or never registered); this request was not applied, an earlier copy may have been; register a new session`,
      };
}

/** A request whose session is not held: refused when this replica watched every slot where it could have been applied, else unknown. */
export function evicted(session: string, mayHaveApplied: boolean, what: string): Failure {
  return mayHaveApplied
    ? {
        outcome: 'unknown',
        code: 'session-evicted',
        error: `session ${session} was evicted (or never registered): ${what}, and an earlier copy may have been; register a new session`,
      }
    : {
        outcome: 'refused',
        code: 'session-evicted',
        error: `session ${session} was evicted (or never registered): ${what}, nor ever was; register a new session`,
      };
}

/** The command chosen at `slot` was applied, or not, as `verdict` says; `waiting` is the one its client sent under that identity. */
export function appliedAnswer(
  slot: number,
  value: CommandValue,
  verdict: SessionVerdict,
  waiting: { value: CommandValue; mayHaveApplied: boolean },
): Answer {
  // Another client used this identity for a different command; ours was not the one chosen here.
  if (!sameCommand(waiting.value.command, value.command)) return identityReused(value.id);
  switch (verdict.kind) {
    case 'apply':
    case 'duplicate':
      return { ok: true, slot: verdict.kind === 'apply' ? slot : verdict.slot };
    case 'registered':
      return { ok: true, slot, session: verdict.session };
    case 'evicted':
      return evicted(
        waiting.value.identity.session,
        waiting.mayHaveApplied,
        `it was chosen at slot ${slot} and not applied`,
      );
    case 'expired':
      return {
        outcome: 'unknown',
        code: 'expired',
        error: `the command was chosen at slot ${slot}, numbered below what session ${value.identity.session} still remembers; it was not applied there, and whether an earlier copy was can no longer be told`,
      };
    case 'identity-reused':
      return identityReused(value.id, verdict.slot);
  }
}

/**
 * A replica's own command that an installed snapshot (through `slot`) does not
 * hold, with `slot` more than the horizon past the commit point it was made
 * at: a copy chosen from now on is expired, one applied earlier may have been
 * forgotten, so whether it took effect can no longer be told.
 */
export function expiredBySnapshot(slot: number, horizonSlots: number): Failure {
  return {
    outcome: 'unknown',
    code: 'expired',
    error: `a snapshot through slot ${slot}, more than ${horizonSlots} slots past the commit point the command was made at, holds no record of it: no copy will be applied from now on, and whether an earlier one was can no longer be told`,
  };
}

/** A configuration change reached its slot for the first time: `took` says whether it named the epoch in force. */
export function changeAnswer(
  slot: number,
  c: ConfigCommand,
  o: { took: boolean; problem: string | null; epochInForce: number },
): Answer {
  if (o.took) {
    if (o.problem === null) return { ok: true, slot };
    return {
      outcome: 'refused',
      code: 'config-invalid',
      error: `the configuration change at slot ${slot} was not applied: ${o.problem}`,
    };
  }
  return {
    outcome: 'refused',
    code: 'config-changed',
    error: `the change named epoch ${c.fromEpoch}, but epoch ${o.epochInForce} was already in force when it was chosen at slot ${slot}; nothing changed`,
  };
}

/**
 * A change decided at `slot` took effect exactly when an epoch `fromEpoch
 * + 1` started right after it. The current configuration can tell: it is
 * that epoch (ok), or not yet past `fromEpoch` (so the change was refused);
 * otherwise later changes hide it, and the answer is honestly unknown.
 */
export function decidedChangeAnswer(c: ConfigCommand, slot: number, m: Membership): Answer {
  if (m.epoch === c.fromEpoch + 1 && m.startSlot === slot + 1) return { ok: true, slot };
  if (m.epoch <= c.fromEpoch) {
    return {
      outcome: 'refused',
      code: 'config-changed',
      error: `the change was decided at slot ${slot} while epoch ${c.fromEpoch} was not in force; nothing changed`,
    };
  }
  return {
    outcome: 'unknown',
    code: 'config-changed',
    error: `this change was decided at slot ${slot}, and the configuration has changed since; see paxos status for the one in force`,
  };
}

/** A deadline passed: a command that ever left this replica may still be chosen (unknown); one that never left was not (refused). */
export function deadlineFailure(why: { code: FailureCode; error: string }, sent: boolean): Failure {
  return sent
    ? { outcome: 'unknown', code: why.code, error: `${why.error}; the command was sent and may still be chosen` }
    : { outcome: 'refused', code: why.code, error: `${why.error}; the command was never sent, so it was not chosen` };
}

/** The one shape of a successful reply: a change answers with its voters, a write with its value, a read with the map's, a registration with its session. */
export function successReply(
  requestId: string,
  c: Command,
  o: { slot?: number; session?: string; ballot: Ballot; roundTrips: number; read: (key: string) => string | null },
): ClientSuccess {
  const key = commandKey(c);
  const value =
    c.op === 'config'
      ? c.voters.join(',')
      : c.op === 'register'
        ? (o.session ?? null)
        : c.op === 'set'
          ? c.value
          : o.read(c.key);
  return {
    requestId,
    ok: true as const,
    op: c.op,
    key,
    value,
    ...(o.slot !== undefined ? { slot: o.slot } : {}),
    ballot: o.ballot,
    roundTrips: o.roundTrips,
  };
}
