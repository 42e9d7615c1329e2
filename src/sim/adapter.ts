/**
 * What the simulator and its checkers need to know about each protocol,
 * behind one interface: how to read ballots and values out of its messages
 * and state ("instances" are slots as strings in Multi-Paxos and keys in
 * Basic Paxos).
 */
import { type Ballot, ZERO_BALLOT } from '../core/ballot.js';
import type { BasicPaxos } from '../core/basic/replica.js';
import type { BasicMessage, BasicRecord } from '../core/basic-messages.js';
import { type MultiMessage, type MultiRecord, valueId } from '../core/multi/messages.js';
import type { MultiPaxos } from '../core/multi/replica.js';
import { commandId } from '../core/multi/sessions.js';
import type { CommandIdentity, Protocol, ProtocolCore, Ready } from '../core/types.js';

export interface ValueAt {
  readonly ballot: Ballot;
  readonly valueId: string;
}

/** Multi-Paxos promises cover every slot at once; this instance name stands for "all of them". */
export const ALL_INSTANCES = '*';

export interface SimCore<M> extends ProtocolCore<M, unknown> {}

export interface ProtocolAdapter<M> {
  readonly protocol: Protocol;
  /** A promise message: its ballot, the instance it covers, and what the acceptor reported as accepted. */
  promiseIn(m: M): { ballot: Ballot; instance: string; accepted: Map<string, ValueAt> } | null;
  /** Phase 2a: the (instance, value) pairs an accept message proposes at its ballot. */
  acceptsIn(m: M): { ballot: Ballot; entries: { instance: string; valueId: string }[] } | null;
  /** Phase 2b: the instances an accepted message says were accepted at its ballot. */
  acceptedIn(m: M): { ballot: Ballot; instances: string[] } | null;
  promisedFor(core: SimCore<M>, instance: string): Ballot;
  acceptedFor(core: SimCore<M>, instance: string): ValueAt | undefined;
  /** What the node itself would report in a promise for `instance` (its own vote in phase 1). */
  acceptedSnapshot(core: SimCore<M>, instance: string | undefined): Map<string, ValueAt>;
  /** Records dropped by the planted bug "an acceptor forgets its promise on restart". */
  isPromiseRecord(record: unknown): boolean;
  /** The value a record or reply would name for a client command, for the validity check. */
  commandValueId(identity: CommandIdentity, value: string): string;
  /** What a persisted record promises: the ghost state of each node's disk is built from these. */
  promiseRecord(record: unknown): { ballot: Ballot; instance: string } | null;
  /** What a persisted record accepts. */
  acceptRecord(record: unknown): { ballot: Ballot; entries: { instance: string; valueId: string }[] } | null;
  /** Multi: the commit point a message advertises ("every slot below is chosen"): a leader's, or an acceptor's in its promise. */
  commitPointIn(m: M): { ballot: Ballot; commitIndex: number } | null;
  /** Whether the node compacted `instance` away: it is chosen and applied there, and its vote is gone on purpose. */
  isCompacted(core: SimCore<M>, instance: string): boolean;
  /** Multi: the configuration epoch the node is in (Basic: always 0). */
  epochOf(core: SimCore<M>): number;
}

const multiCore = (c: SimCore<MultiMessage>) => c as unknown as MultiPaxos;
const basicCore = (c: SimCore<BasicMessage>) => c as unknown as BasicPaxos;

export const multiAdapter: ProtocolAdapter<MultiMessage> = {
  protocol: 'multi',
  promiseIn: (m) =>
    m.type !== 'promise'
      ? null
      : {
          ballot: m.ballot,
          instance: ALL_INSTANCES,
          accepted: new Map(m.accepted.map((e) => [String(e.slot), { ballot: e.ballot, valueId: valueId(e.value) }])),
        },
  acceptsIn: (m) =>
    m.type !== 'accept' || m.entries.length === 0
      ? null
      : {
          ballot: m.ballot,
          entries: m.entries.map((e) => ({ instance: String(e.slot), valueId: valueId(e.value) })),
        },
  acceptedIn: (m) =>
    m.type !== 'accepted' || m.slots.length === 0 ? null : { ballot: m.ballot, instances: m.slots.map(String) },
  promisedFor: (core) => multiCore(core).inspect().promised,
  acceptedFor: (core, instance) => {
    const a = multiCore(core).inspect().accepted.get(Number.parseInt(instance, 10));
    return a && { ballot: a.ballot, valueId: valueId(a.value) };
  },
  acceptedSnapshot: (core) => {
    const snap = new Map<string, ValueAt>();
    for (const [slot, a] of multiCore(core).inspect().accepted)
      snap.set(String(slot), { ballot: a.ballot, valueId: valueId(a.value) });
    return snap;
  },
  isPromiseRecord: (r) => (r as MultiRecord).t === 'promise',
  commandValueId: (identity) => commandId(identity),
  promiseRecord: (r) => {
    const rec = r as MultiRecord;
    return rec.t === 'promise' || rec.t === 'accept' ? { ballot: rec.ballot, instance: ALL_INSTANCES } : null;
  },
  acceptRecord: (r) => {
    const rec = r as MultiRecord;
    return rec.t !== 'accept'
      ? null
      : {
          ballot: rec.ballot,
          entries: rec.entries.map((e) => ({ instance: String(e.slot), valueId: valueId(e.value) })),
        };
  },
  commitPointIn: (m) =>
    m.type === 'accept' || m.type === 'commit' || m.type === 'promise' || m.type === 'accepted'
      ? { ballot: m.ballot, commitIndex: m.commitIndex }
      : null,
  isCompacted: (core, instance) => Number.parseInt(instance, 10) <= multiCore(core).inspect().compactedThrough,
  epochOf: (core) => multiCore(core).inspect().membership.epoch,
};

export const basicAdapter: ProtocolAdapter<BasicMessage> = {
  protocol: 'basic',
  promiseIn: (m) =>
    m.type !== 'promise'
      ? null
      : {
          ballot: m.ballot,
          instance: m.key,
          accepted: new Map(m.accepted ? [[m.key, { ballot: m.accepted.ballot, valueId: m.accepted.value }]] : []),
        },
  acceptsIn: (m) =>
    m.type !== 'accept' ? null : { ballot: m.ballot, entries: [{ instance: m.key, valueId: m.value }] },
  acceptedIn: (m) => (m.type !== 'accepted' ? null : { ballot: m.ballot, instances: [m.key] }),
  promisedFor: (core, instance) => basicCore(core).inspect().promised.get(instance) ?? ZERO_BALLOT,
  acceptedFor: (core, instance) => {
    const a = basicCore(core).inspect().accepted.get(instance);
    return a && { ballot: a.ballot, valueId: a.value };
  },
  acceptedSnapshot: (core, instance) => {
    const a = instance === undefined ? undefined : basicCore(core).inspect().accepted.get(instance);
    return new Map(a && instance !== undefined ? [[instance, { ballot: a.ballot, valueId: a.value }]] : []);
  },
  isPromiseRecord: (r) => (r as BasicRecord).t === 'promise',
  commandValueId: (_identity, value) => value,
  promiseRecord: (r) => {
    const rec = r as BasicRecord;
    return rec.t === 'promise' || rec.t === 'accept' ? { ballot: rec.ballot, instance: rec.key } : null;
  },
  acceptRecord: (r) => {
    const rec = r as BasicRecord;
    return rec.t !== 'accept' ? null : { ballot: rec.ballot, entries: [{ instance: rec.key, valueId: rec.value }] };
  },
  commitPointIn: () => null,
  isCompacted: (core, instance) =>
    basicCore(core).inspect().chosen.has(instance) && !basicCore(core).inspect().promised.has(instance),
  epochOf: () => 0,
};

export function adapterFor(protocol: Protocol): ProtocolAdapter<MultiMessage> | ProtocolAdapter<BasicMessage> {
  return protocol === 'multi' ? multiAdapter : basicAdapter;
}

/**
 * The instances a Ready touched, which the invariant checker re-examines after the step: every one in Multi-Paxos
 * (one log), else the keys its messages and accept records name. The simulator's world and the explorer both ask.
 */
export function touchedInstances<M>(
  protocol: Protocol,
  adapter: ProtocolAdapter<M>,
  ready: Pick<Ready<M, unknown>, 'messages' | 'earlyMessages' | 'persist'>,
): Set<string> {
  const touched = new Set<string>();
  if (protocol === 'multi') touched.add(ALL_INSTANCES);
  for (const m of [...ready.messages, ...ready.earlyMessages]) {
    const acc = adapter.acceptedIn(m);
    if (acc !== null) for (const i of acc.instances) touched.add(i);
    const key = (m as { key?: string }).key;
    if (key !== undefined) touched.add(key);
  }
  for (const r of ready.persist) {
    const a = adapter.acceptRecord(r);
    if (a !== null) for (const e of a.entries) touched.add(e.instance);
  }
  return touched;
}
