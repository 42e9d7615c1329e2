/**
 * Catch-up pacing (src/core/multi/learner.ts): one request out at a time.
 * A replica that lacks the log asks for it at most once per two heartbeats
 * (once per heartbeat when a later epoch shows it missed a stop-sign), asks
 * again at once when a reply shows more to fetch, asks its contacts in turn,
 * and, while a snapshot streams to it, asks only the peer streaming it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import { describeCoreEvent } from '../../src/core/describe.js';
import { bootstrapMembership } from '../../src/core/membership.js';
import type { CatchupMsg, MultiMessage } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import type { CoreConfig } from '../../src/core/types.js';
import { oneKeySnapshot, sent, stepReady } from './drive.js';

interface Asked {
  readonly tick: number;
  readonly to: number;
  readonly fromSlot: number;
  readonly snapshot?: { readonly slot: number; readonly part: number };
}

/**
 * Runs `core` for `ticks` ticks; on each, after the tick, it is handed what `deliver` returns for that tick.
 * Returns every catch-up request it sent, with the tick it left on.
 */
function catchups(core: MultiPaxos, ticks: number, deliver: (tick: number) => MultiMessage[] = () => []): Asked[] {
  const asked: Asked[] = [];
  const note = (tick: number, out: MultiMessage[]) => {
    for (const m of out.filter((x): x is CatchupMsg => x.type === 'catchup'))
      asked.push({ tick, to: m.to, fromSlot: m.fromSlot, ...(m.snapshot ? { snapshot: m.snapshot } : {}) });
  };
  for (let tick = 1; tick <= ticks; tick++) {
    note(tick, sent(stepReady(core, { type: 'tick' })));
    for (const message of deliver(tick)) note(tick, sent(stepReady(core, { type: 'message', message })));
  }
  return asked;
}

test('a learner asks its contacts in turn, once every two heartbeats', () => {
  const rows: { heartbeatTicks: number; contacts?: number[]; ticks: number; asked: [number, number][] }[] = [
    {
      heartbeatTicks: 4,
      ticks: 40,
      asked: [
        [1, 1],
        [9, 2],
        [17, 3],
        [25, 1],
        [33, 2],
      ],
    },
    {
      heartbeatTicks: 1,
      ticks: 10,
      asked: [
        [1, 1],
        [3, 2],
        [5, 3],
        [7, 1],
        [9, 2],
      ],
    },
    {
      heartbeatTicks: 5,
      ticks: 30,
      asked: [
        [1, 1],
        [11, 2],
        [21, 3],
      ],
    },
    // Contacts outside the configuration it knows are asked too: the cluster may have moved on without it.
    {
      heartbeatTicks: 4,
      contacts: [5],
      ticks: 40,
      asked: [
        [1, 1],
        [9, 2],
        [17, 3],
        [25, 5],
        [33, 1],
      ],
    },
  ];
  for (const r of rows) {
    const cfg: CoreConfig = {
      id: 4,
      clusterSize: 3,
      randomSeed: 1,
      heartbeatTicks: r.heartbeatTicks,
      ...(r.contacts ? { contacts: r.contacts } : {}),
    };
    const asked = catchups(new MultiPaxos(cfg), r.ticks);
    assert.deepEqual(
      asked.map((a) => [a.tick, a.to]),
      r.asked,
      JSON.stringify(r),
    );
    assert.ok(
      asked.every((a) => a.fromSlot === 1 && a.snapshot === undefined),
      'from its commit point',
    );
  }
});

test('a follower behind its leader asks the leader once every two heartbeats, however often heartbeats come', () => {
  const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, heartbeatTicks: 4 });
  const heartbeat: MultiMessage = {
    type: 'accept',
    from: 1,
    to: 2,
    epoch: 0,
    ballot: Ballot(1, 1),
    entries: [],
    commitIndex: 10,
  };
  const asked = catchups(core, 20, () => [heartbeat]);
  assert.deepEqual(
    asked.map((a) => [a.tick, a.to, a.fromSlot]),
    [
      [1, 1, 1],
      [9, 1, 1],
      [17, 1, 1],
    ],
  );
  assert.equal(core.view().leader, 1, 'it follows the leader meanwhile');
});

test('a reply that shows more to fetch is followed by the next request at once; an empty one is not', () => {
  const core = new MultiPaxos({ id: 4, clusterSize: 3, randomSeed: 1, heartbeatTicks: 4 });
  const learn = (from: number, slots: number[], commitIndex: number): MultiMessage => ({
    type: 'learn',
    from,
    to: 4,
    entries: slots.map((slot) => ({ slot, value: { kind: 'noop' } })),
    commitIndex,
  });
  const asked = catchups(core, 4, (tick) =>
    tick === 2 ? [learn(1, [1, 2], 10)] : tick === 3 ? [learn(1, [3], 10), learn(1, [], 10)] : [],
  );
  assert.deepEqual(
    asked.map((a) => [a.tick, a.to, a.fromSlot]),
    [
      [1, 1, 1],
      [2, 1, 3],
      [3, 1, 4],
    ],
  );
  assert.equal(core.view().commitIndex, 4);
});

test('a replica that learns of a later epoch asks its sender once every heartbeat', () => {
  const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1, heartbeatTicks: 4 });
  const commit: MultiMessage = { type: 'commit', from: 3, to: 2, epoch: 1, ballot: Ballot(7, 3), commitIndex: 30 };
  const asked = catchups(core, 12, () => [commit]);
  assert.deepEqual(
    asked.map((a) => [a.tick, a.to]),
    [
      [1, 3],
      [5, 3],
      [9, 3],
    ],
  );
});

test('while a snapshot streams, every request goes to the peer streaming it, until the stream stalls', () => {
  const core = new MultiPaxos({ id: 4, clusterSize: 3, randomSeed: 1, heartbeatTicks: 4, electionTimeoutTicks: 15 });
  const head: MultiMessage = {
    type: 'snapshot',
    from: 2,
    to: 4,
    slot: 10,
    index: 0,
    part: {
      t: 'snapshot',
      slot: 10,
      parts: 2,
      kvCount: 1,
      sessionCount: 0,
      appliedCount: 0,
      membership: bootstrapMembership([1, 2, 3]),
    },
  };
  // The first part arrives on tick 1; the second never does: node-2 stopped.
  const asked = catchups(core, 36, (tick) => (tick === 1 ? [head] : []));
  const part = { slot: 10, part: 1 };
  assert.deepEqual(asked, [
    { tick: 1, to: 1, fromSlot: 1 },
    { tick: 1, to: 2, fromSlot: 1, snapshot: part },
    { tick: 9, to: 2, fromSlot: 1, snapshot: part },
    { tick: 17, to: 2, fromSlot: 1, snapshot: part },
    // No part for longer than max(4 heartbeats, an election timeout) = 16 ticks: the stream is given up.
    { tick: 25, to: 2, fromSlot: 1 },
    { tick: 33, to: 3, fromSlot: 1 },
  ]);
});

test('a snapshot streamed whole is installed and reported as a structured event, worded once', () => {
  const core = new MultiPaxos({ id: 4, clusterSize: 3, randomSeed: 1 });
  const parts = oneKeySnapshot({ from: 2, to: 4, slot: 10, membership: bootstrapMembership([1, 2, 3]) });
  const events = parts.flatMap((message) => stepReady(core, { type: 'message', message }).events);
  const installed = events.filter((e) => e.type === 'snapshot-installed');
  assert.deepEqual(installed, [{ type: 'snapshot-installed', slot: 10, from: 2, keys: 1 }]);
  assert.equal(describeCoreEvent(installed[0]), 'installed a snapshot at slot 10 from node-2 (1 keys)');
  assert.equal(core.view().commitIndex, 11);
  assert.equal(core.inspect().kv.get('x'), '1');
});
