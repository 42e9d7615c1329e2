/**
 * What a Multi-Paxos replica writes down and reads back: replaying its
 * records (on top of its snapshot) after a restart, and the few records that
 * replace its whole log when it compacts.
 */
import { type Ballot, ballotGreater, compareBallots, ZERO_BALLOT } from '../ballot.js';
import type { Membership } from '../membership.js';
import type { LogValue, MultiRecord, SlotValue } from './messages.js';
import type { RecoveryRecord } from './recovery.js';
import { joinSnapshotParts, type MultiSnapshot } from './snapshot-parts.js';

/** What a Multi-Paxos replica recovers from its snapshot and its log. */
export interface MultiDurableState {
  round: number;
  promised: Ballot;
  accepted: Map<number, { ballot: Ballot; value: LogValue }>;
  chosen: Map<number, { value: LogValue; ballot: Ballot | null }>;
  snapshot: MultiSnapshot | null;
  /** The latest configuration an epoch record or the snapshot names; null: the first one. */
  membership: Membership | null;
  /** Set when this replica lost its disk: recovering under a session, re-admitted from an epoch once it was. */
  recovery: RecoveryRecord | null;
  /** The snapshot opens a later epoch than any record of the log: a crash came before the log was rewritten. */
  epochOnlyInSnapshot: boolean;
}

export function emptyMultiState(): MultiDurableState {
  return {
    round: 0,
    promised: ZERO_BALLOT,
    accepted: new Map(),
    chosen: new Map(),
    snapshot: null,
    membership: null,
    recovery: null,
    epochOnlyInSnapshot: false,
  };
}

/**
 * Replays persisted records, oldest first, on top of the snapshot if there
 * is one. An accept also raises the promise, as it did when it was written.
 * The log may still hold entries the snapshot covers (a crash between
 * writing the snapshot and rewriting the log): they are dropped here.
 */
export function recoverMulti(
  records: Iterable<MultiRecord>,
  snapshot: readonly unknown[] | null = null,
): MultiDurableState {
  const state = emptyMultiState();
  for (const r of records) applyMultiRecord(state, r);
  if (snapshot !== null && snapshot.length > 0) {
    const s = joinSnapshotParts(snapshot);
    state.snapshot = s;
    // An installed snapshot that crosses a stop-sign is the only record of the epoch it opens (replica.ts,
    // restoreSnapshot). A crash after it lands and before the log is rewritten leaves the old log: what that holds from
    // the new epoch's first slot on belonged to the ended epoch, as if an epoch record stood at its end. The replica
    // writes that record first thing (replica.ts), so what it writes after lies beyond the boundary.
    state.epochOnlyInSnapshot = s.membership.epoch > (state.membership?.epoch ?? 0);
    if (state.epochOnlyInSnapshot) applyMultiRecord(state, { t: 'epoch', membership: s.membership });
    else if (state.membership === null) state.membership = s.membership;
    for (const slot of state.accepted.keys()) if (slot <= s.slot) state.accepted.delete(slot);
    for (const slot of state.chosen.keys()) if (slot <= s.slot) state.chosen.delete(slot);
  }
  return state;
}

export function applyMultiRecord(state: MultiDurableState, r: MultiRecord): void {
  switch (r.t) {
    case 'round':
      state.round = Math.max(state.round, r.round);
      return;
    case 'promise':
      if (ballotGreater(r.ballot, state.promised)) state.promised = r.ballot;
      return;
    case 'accept':
      if (ballotGreater(r.ballot, state.promised)) state.promised = r.ballot;
      for (const e of r.entries) state.accepted.set(e.slot, { ballot: r.ballot, value: e.value });
      return;
    case 'chosen':
      for (const e of r.entries) state.chosen.set(e.slot, { value: e.value, ballot: null });
      return;
    case 'epoch':
      if (state.membership !== null && state.membership.epoch >= r.membership.epoch) return;
      state.membership = r.membership;
      // What the replica held at or above the new epoch's first slot when it wrote this belonged to the ended epoch.
      for (const slot of [...state.accepted.keys()]) if (slot >= r.membership.startSlot) state.accepted.delete(slot);
      for (const slot of [...state.chosen.keys()]) if (slot >= r.membership.startSlot) state.chosen.delete(slot);
      return;
    case 'recovering':
      state.recovery = { session: r.session, votesFromEpoch: null };
      return;
    case 'readmitted':
      if (state.recovery !== null) state.recovery = { session: state.recovery.session, votesFromEpoch: r.epoch };
      return;
  }
}

/** What a replica holds that must survive compaction: `retainedRecords` writes it as records. */
export interface RetainedState {
  readonly round: number;
  readonly promised: Ballot;
  readonly membership: Membership;
  readonly accepted: ReadonlyMap<number, { readonly ballot: Ballot; readonly value: LogValue }>;
  readonly chosen: ReadonlyMap<number, { readonly value: LogValue }>;
  readonly compactedThrough: number;
  /** A lost disk's records (recovery.ts), kept first so the votes replayed after them are judged as they were. */
  readonly recovery: readonly MultiRecord[];
}

/**
 * The records that, replayed on top of the snapshot, give back every vote
 * and promise this replica holds: its round, its promise, what it accepted
 * and what it learned above the snapshot. They replace the whole log.
 */
export function retainedRecords(s: RetainedState): MultiRecord[] {
  // The epoch record comes before the votes: replayed, it drops what precedes it at or above its first slot.
  const records: MultiRecord[] = [
    ...s.recovery,
    { t: 'round', round: s.round },
    { t: 'promise', ballot: s.promised },
    { t: 'epoch', membership: s.membership },
  ];
  const byBallot = new Map<string, { ballot: Ballot; entries: SlotValue[] }>();
  for (const [slot, a] of [...s.accepted].sort(([x], [y]) => x - y)) {
    const key = `${a.ballot.round}.${a.ballot.node}`;
    let group = byBallot.get(key);
    if (group === undefined) {
      group = { ballot: a.ballot, entries: [] };
      byBallot.set(key, group);
    }
    group.entries.push({ slot, value: a.value });
  }
  const groups = [...byBallot.values()].sort((x, y) => compareBallots(x.ballot, y.ballot));
  for (const g of groups)
    for (const entries of inChunks(g.entries)) records.push({ t: 'accept', ballot: g.ballot, entries });
  const chosen = [...s.chosen]
    .filter(([slot]) => slot > s.compactedThrough)
    .sort(([x], [y]) => x - y)
    .map(([slot, c]) => ({ slot, value: c.value }));
  for (const entries of inChunks(chosen)) records.push({ t: 'chosen', entries });
  return records;
}

/** Records carry at most this many entries, so a record of the largest values stays far below a frame's limit. */
const RECORD_ENTRIES = 128;

function inChunks<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += RECORD_ENTRIES) chunks.push(items.slice(i, i + RECORD_ENTRIES));
  return chunks;
}
