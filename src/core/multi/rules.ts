/**
 * Every rule of Multi-Paxos that a planted bug can break, in one place and
 * built once from the configuration. The parts consult this object instead of
 * the raw `PlantedBugs`, so a reader finds each plant's branches by one name,
 * and the correct protocol is what every rule says when no plant is set.
 */
import { type ResolvedConfig, requiredQuorumOf } from '../config.js';

export interface Rules {
  // Acceptor.
  /** Accept a ballot below the promise (breaks: an acceptor never goes back on a promise). */
  readonly acceptBelowPromised: boolean;
  /** A promise claims nothing below the prepare's slot was decided, hiding what it compacted. */
  readonly promiseHidesCompacted: boolean;
  // Candidate and ballots.
  /** The winner of phase 1 ignores the values the promises report. */
  readonly ignoreAcceptedValues: boolean;
  /** A restarted replica counts rounds from zero again. */
  readonly reuseBallotAfterRestart: boolean;
  // Leader.
  /** The leader's own vote counts before its accept record is durable. */
  readonly countVoteBeforeDurable: boolean;
  /** Votes count whatever ballot they were cast at. */
  readonly countVotesOfAnyBallot: boolean;
  /** A leader outvoted at a slot (chosen at a higher ballot) keeps leading (breaks: a commit point vouches only for its ballot). */
  readonly staleLeaderKeepsLeading: boolean;
  /** A leader whose stop-sign was refused by apply stops proposing for good (breaks: liveness). */
  readonly stallAfterRefusedStopSign: boolean;
  /** A new leader whose phase 1 found a stop-sign apply refused while it campaigned stops there for good (breaks: liveness). */
  readonly stallAtStopRefusedBeforeWinning: boolean;
  /** After a refused stop-sign, new values go where phase 1 found values accepted (breaks: a chosen value is kept). */
  readonly overwriteAfterRefusedStopSign: boolean;
  /** A new leader waits forever for the slots below its floor from one acceptor (breaks: liveness). */
  readonly waitForDecidedForever: boolean;
  /** A voter that heard of a later epoch never campaigns before it caught up, even when catching up stalls for good (breaks: liveness). */
  readonly waitBehindForever: boolean;
  /** A voter campaigning because its catch-up stalled steps down at each reject from the epoch it waited for (breaks: liveness). */
  readonly yieldWhileStalled: boolean;
  /** Every catch-up reply that leaves it behind is answered with a new request, stale or duplicated ones too (breaks: a run ends; liveness). */
  readonly askOnEveryLearn: boolean;
  /** A catch-up reply carries at most one accept batch of slots (breaks: a replica far behind catches up in time; liveness). */
  readonly catchupPerAcceptBatch: boolean;
  /** A leader preempted right after winning prepares again at once, as one that led long does (breaks: two leaders duel; liveness). */
  readonly reprepareWhileNew: boolean;
  /** A replica's own command that an installed snapshot no longer can hold waits on, re-sent until its deadline (breaks: liveness). */
  readonly waitOnExpiredOwnCommand: boolean;
  /** A request waiting under an identity that an installed snapshot's table holds is answered ok whatever command it was (breaks: exactly-once). */
  readonly installedTableTrustsIdentity: boolean;
  /** The session table compares commands under one identity by a 32-bit digest of a joined encoding (breaks: exactly-once). */
  readonly digestCommands: boolean;
  /** A new leader fetching the slots below its floor gives up while a snapshot of them is still arriving (breaks: liveness on slow networks). */
  readonly floorIgnoresSnapshotStream: boolean;
  // Key-value machine and clients.
  /** The session table is ignored: a retried command applies again. */
  readonly applyDuplicates: boolean;
  /** A request of a session the table no longer holds reopens it and applies (the old horizon's forgetting). */
  readonly applyEvictedSessions: boolean;
  /** Reads are answered from the local map, outside the log. */
  readonly staleLocalReads: boolean;
  // Snapshots.
  /** A snapshot compacts votes of slots not known chosen. */
  readonly compactUndecided: boolean;
  /** A snapshot is labelled one slot past what it applied. */
  readonly snapshotLabelledAhead: boolean;
  /** A first part restarts the stream, and catch-up asks any peer meanwhile (breaks: a stream ends; liveness). */
  readonly restartSnapshotStreams: boolean;
  /** A stop-sign above a snapshot is applied in the Ready that installs it, its epoch record written ahead of the checkpoint (breaks: epochs follow the chosen prefix on disk; liveness). */
  readonly applyAboveUnwrittenSnapshot: boolean;
  /** A later epoch entered from an installed snapshot is recorded in the log write ahead of its checkpoint (breaks: epochs follow the chosen prefix on disk; liveness). */
  readonly epochRecordAheadOfInstall: boolean;
  /** An installed snapshot's checkpoint is marked a compaction, so nothing waits for it (breaks: what a replica does after an install rests on it durably). */
  readonly installAsCompaction: boolean;
  /** A replica behind its own epoch still takes and serves snapshots, labelled with that epoch (breaks: epochs follow the chosen prefix). */
  readonly snapshotAheadOfEpoch: boolean;
  // Epochs.
  /** A leader enters the next configuration when it proposes the change, before it is chosen. */
  readonly applyConfigBeforeChosen: boolean;
  /** A replica votes in any epoch it hears of, before it applied the stop-sign opening it. */
  readonly voteBeforeCaughtUp: boolean;
  /** Two changes in flight: a leader proposes on after a stop-sign, and a stale change still applies. */
  readonly twoChangesInFlight: boolean;
  /** A replayed change below the current epoch is judged again against it (breaks: the chosen prefix alone decides epochs). */
  readonly rejudgeConfigOnReplay: boolean;
  /** A replica that lost its disk votes again once caught up, without re-admission (breaks: a vote is never forgotten). */
  readonly recoverWithoutReadmission: boolean;
  /** A removed replica still votes, and leaders still count it and send to it. */
  readonly removedStillCounted: boolean;
  /** Values of a new epoch learned in the Ready that opened it are written before its epoch record (breaks: a chosen value is never forgotten; liveness). */
  readonly nextEpochChosenUnmarked: boolean;
  /** A recovering replica asks for re-admission under its recorded session in every incarnation (breaks: an identity names one command). */
  readonly recoveryReusesSession: boolean;
  /** A recovering replica that learns its re-admission inside a snapshot does not see it (breaks: liveness). */
  readonly readmissionMissedInSnapshot: boolean;
  // Leading.
  /** A leader re-sends accepts for slots it learned chosen another way (breaks: liveness with a voter gone for good). */
  readonly resendChosenSlots: boolean;
  /** Relaying a waiting command and polling for the log share one round-robin turn (breaks: liveness with a voter gone). */
  readonly sharedRelayTurn: boolean;
  /** How many votes decide among `voterCount` voters, `liveCount` of them heard from lately (three plants bend it). */
  quorumOf(voterCount: number, liveCount: number): number;
}

export function rulesOf(cfg: ResolvedConfig): Rules {
  const b = cfg.bugs;
  return {
    acceptBelowPromised: b.acceptBelowPromised === true,
    promiseHidesCompacted: b.promiseHidesCompacted === true,
    ignoreAcceptedValues: b.ignoreAcceptedValues === true,
    reuseBallotAfterRestart: b.reuseBallotAfterRestart === true,
    countVoteBeforeDurable: b.countVoteBeforeDurable === true,
    countVotesOfAnyBallot: b.countVotesOfAnyBallot === true,
    applyDuplicates: b.applyDuplicates === true,
    applyEvictedSessions: b.applyEvictedSessions === true,
    staleLocalReads: b.staleLocalReads === true,
    compactUndecided: b.compactUndecided === true,
    snapshotLabelledAhead: b.snapshotLabelledAhead === true,
    restartSnapshotStreams: b.restartSnapshotStreams === true,
    snapshotAheadOfEpoch: b.snapshotAheadOfEpoch === true,
    applyAboveUnwrittenSnapshot: b.applyAboveUnwrittenSnapshot === true,
    epochRecordAheadOfInstall: b.epochRecordAheadOfInstall === true,
    installAsCompaction: b.installAsCompaction === true,
    applyConfigBeforeChosen: b.applyConfigBeforeChosen === true,
    voteBeforeCaughtUp: b.voteBeforeCaughtUp === true,
    twoChangesInFlight: b.twoChangesInFlight === true,
    removedStillCounted: b.removedStillCounted === true,
    recoverWithoutReadmission: b.recoverWithoutReadmission === true,
    staleLeaderKeepsLeading: b.staleLeaderKeepsLeading === true,
    rejudgeConfigOnReplay: b.rejudgeConfigOnReplay === true,
    stallAfterRefusedStopSign: b.stallAfterRefusedStopSign === true,
    stallAtStopRefusedBeforeWinning: b.stallAtStopRefusedBeforeWinning === true,
    overwriteAfterRefusedStopSign: b.overwriteAfterRefusedStopSign === true,
    waitForDecidedForever: b.waitForDecidedForever === true,
    waitBehindForever: b.waitBehindForever === true,
    yieldWhileStalled: b.yieldWhileStalled === true,
    askOnEveryLearn: b.askOnEveryLearn === true,
    catchupPerAcceptBatch: b.catchupPerAcceptBatch === true,
    reprepareWhileNew: b.reprepareWhileNew === true,
    waitOnExpiredOwnCommand: b.waitOnExpiredOwnCommand === true,
    installedTableTrustsIdentity: b.installedTableTrustsIdentity === true,
    digestCommands: b.digestCommands === true,
    floorIgnoresSnapshotStream: b.floorIgnoresSnapshotStream === true,
    resendChosenSlots: b.resendChosenSlots === true,
    sharedRelayTurn: b.sharedRelayTurn === true,
    nextEpochChosenUnmarked: b.nextEpochChosenUnmarked === true,
    recoveryReusesSession: b.recoveryReusesSession === true,
    readmissionMissedInSnapshot: b.readmissionMissedInSnapshot === true,
    quorumOf: (voterCount, liveCount) => requiredQuorumOf(cfg, voterCount, liveCount),
  };
}
