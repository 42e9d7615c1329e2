/**
 * What a Basic Paxos replica writes down and reads back: replaying its
 * records after a restart, and the records that replace its whole log when
 * it compacts (Basic Paxos has no separate snapshot: its chosen records are
 * the state).
 */
import { type Ballot, ballotGreater, ZERO_BALLOT } from '../ballot.js';
import type { BasicRecord } from '../basic-messages.js';
import { must } from '../must.js';

export type Accepted = { readonly ballot: Ballot; readonly value: string };

export interface BasicDurableState {
  round: number;
  promised: Map<string, Ballot>;
  accepted: Map<string, Accepted>;
  /** Insertion order is the order this node learned keys in; peers page through it when catching up. */
  chosen: Map<string, { value: string; ballot: Ballot | null }>;
  /** The highest promise of a chosen key whose promise was compacted away. */
  promisedAtLeast: Ballot;
}

export function emptyBasicState(): BasicDurableState {
  return { round: 0, promised: new Map(), accepted: new Map(), chosen: new Map(), promisedAtLeast: ZERO_BALLOT };
}

export function recoverBasic(records: Iterable<BasicRecord>): BasicDurableState {
  const state = emptyBasicState();
  for (const r of records) applyBasicRecord(state, r);
  return state;
}

export function applyBasicRecord(state: BasicDurableState, r: BasicRecord): void {
  switch (r.t) {
    case 'round':
      state.round = Math.max(state.round, r.round);
      if (r.promisedAtLeast !== undefined && ballotGreater(r.promisedAtLeast, state.promisedAtLeast))
        state.promisedAtLeast = r.promisedAtLeast;
      return;
    case 'promise':
      raisePromise(state.promised, r.key, r.ballot);
      return;
    case 'accept':
      raisePromise(state.promised, r.key, r.ballot);
      state.accepted.set(r.key, { ballot: r.ballot, value: r.value });
      return;
    case 'chosen':
      if (!state.chosen.has(r.key)) state.chosen.set(r.key, { value: r.value, ballot: r.ballot });
      return;
  }
}

function raisePromise(promised: Map<string, Ballot>, key: string, ballot: Ballot): void {
  const cur = promised.get(key);
  if (cur === undefined || ballotGreater(ballot, cur)) promised.set(key, ballot);
}

/** What a replica holds that must survive compaction: `compactedRecords` writes it as records. */
export interface BasicRetained {
  readonly round: number;
  readonly promisedAtLeast: Ballot;
  readonly promised: ReadonlyMap<string, Ballot>;
  readonly accepted: ReadonlyMap<string, Accepted>;
  readonly chosen: ReadonlyMap<string, { readonly value: string; readonly ballot: Ballot | null }>;
  /** The chosen keys in the order this replica learned them. */
  readonly chosenOrder: readonly string[];
}

/** The records that replace the whole log: the round, each open key's promise and accepted value, each chosen key's value. */
export function compactedRecords(s: BasicRetained): BasicRecord[] {
  const records: BasicRecord[] = [{ t: 'round', round: s.round, promisedAtLeast: s.promisedAtLeast }];
  for (const [key, ballot] of s.promised) records.push({ t: 'promise', key, ballot });
  for (const [key, a] of s.accepted) records.push({ t: 'accept', key, ballot: a.ballot, value: a.value });
  for (const key of s.chosenOrder) {
    const c = must(s.chosen.get(key), `the learned order lists only chosen keys (${key})`);
    records.push({ t: 'chosen', key, value: c.value, ballot: c.ballot });
  }
  return records;
}
