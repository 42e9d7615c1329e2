/**
 * The membership helpers (src/core/membership.ts) and what a replica's epoch
 * decides (src/core/multi/epochs.ts), the latter read off a real Multi-Paxos
 * core: whether it is a voter, a learner or removed, whom it answers, and
 * when it may campaign.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import {
  bootstrapMembership,
  isMembership,
  isVoter,
  KEPT_EPOCHS,
  MAX_NODE_ID,
  MAX_VOTERS,
  type Membership,
  succeeding,
  votersProblem,
} from '../../src/core/membership.js';
import { emptyMultiState, type MultiDurableState } from '../../src/core/multi/durable.js';
import type { MultiMessage } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { adminChange, sent, stepReady } from './drive.js';

test('votersProblem names what makes a voter set no configuration, and accepts every valid one', () => {
  const rows: { voters: unknown[]; problem: RegExp | null }[] = [
    { voters: [1], problem: null },
    { voters: [3, 1, 2], problem: null },
    { voters: [MAX_NODE_ID], problem: null },
    { voters: Array.from({ length: MAX_VOTERS }, (_, i) => i + 1), problem: null },
    { voters: [], problem: /at least one voter/ },
    { voters: Array.from({ length: MAX_VOTERS + 1 }, (_, i) => i + 1), problem: /at most 15 voters, got 16/ },
    { voters: [0], problem: /integers from 1 to 64, got 0/ },
    { voters: [MAX_NODE_ID + 1], problem: /got 65/ },
    { voters: [1.5], problem: /got 1.5/ },
    { voters: ['2'], problem: /got 2/ },
    { voters: [null], problem: /got null/ },
    { voters: [1, 2, 1], problem: /node-1 is named twice/ },
  ];
  for (const r of rows) {
    const got = votersProblem(r.voters);
    if (r.problem === null) assert.equal(got, null, JSON.stringify(r.voters));
    else assert.match(got ?? '(none)', r.problem, JSON.stringify(r.voters));
  }
});

test('the first configuration is epoch 0 from slot 1, its voters sorted, the input untouched', () => {
  const given = [3, 1, 2];
  assert.deepEqual(bootstrapMembership(given), { epoch: 0, voters: [1, 2, 3], startSlot: 1 });
  assert.deepEqual(given, [3, 1, 2]);
  const m = bootstrapMembership([2, 4]);
  assert.deepEqual(
    [1, 2, 3, 4].map((id) => isVoter(m, id)),
    [false, true, false, true],
  );
});

test('each configuration remembers the ones before it, oldest first, at most KEPT_EPOCHS of them', () => {
  let m: Membership = bootstrapMembership([1, 2, 3]);
  const changes = KEPT_EPOCHS + 4;
  for (let e = 1; e <= changes; e++) {
    m = succeeding(m, { epoch: e, voters: e % 2 === 0 ? [1, 2, 3] : [1, 2, 3, 4], startSlot: 10 * e });
    assert.equal(m.epoch, e);
    assert.equal(m.previous?.length, Math.min(e, KEPT_EPOCHS));
    assert.equal(m.previous?.at(-1)?.epoch, e - 1, 'the latest earlier one is last');
    assert.equal(m.previous?.at(-1)?.startSlot, e === 1 ? 1 : 10 * (e - 1));
  }
  assert.deepEqual(
    m.previous?.map((p) => p.epoch),
    Array.from({ length: KEPT_EPOCHS }, (_, i) => changes - KEPT_EPOCHS + i),
  );
  assert.ok(isMembership(m));
});

test('isMembership accepts what a replica writes and rejects malformed input', () => {
  const ok = { epoch: 2, voters: [1, 2], startSlot: 7, previous: [{ epoch: 1, voters: [1], startSlot: 3 }] };
  const rows: { x: unknown; valid: boolean }[] = [
    { x: ok, valid: true },
    { x: { epoch: 0, voters: [1], startSlot: 1 }, valid: true },
    { x: { ...ok, epoch: -1 }, valid: false },
    { x: { ...ok, epoch: 1.5 }, valid: false },
    { x: { ...ok, startSlot: 0 }, valid: false },
    { x: { ...ok, voters: [] }, valid: false },
    { x: { ...ok, voters: [1, 1] }, valid: false },
    { x: { ...ok, previous: 'none' }, valid: false },
    { x: { ...ok, previous: [{ epoch: 1, voters: [], startSlot: 3 }] }, valid: false },
    {
      x: {
        ...ok,
        previous: Array.from({ length: KEPT_EPOCHS + 1 }, (_, i) => ({ epoch: i, voters: [1], startSlot: 1 })),
      },
      valid: false,
    },
    { x: null, valid: false },
    { x: [1, 2], valid: false },
  ];
  for (const r of rows) assert.equal(isMembership(r.x), r.valid, JSON.stringify(r.x));
});

/** A replica of a cluster created as node-1..node-3 that applied through slot 3, where a change opened epoch 1. */
function restartedInEpoch1(voters: readonly number[]): MultiDurableState {
  const change = adminChange(0, voters);
  const state = emptyMultiState();
  state.chosen.set(1, { value: { kind: 'noop' }, ballot: null });
  state.chosen.set(2, { value: { kind: 'noop' }, ballot: null });
  state.chosen.set(3, { value: change, ballot: null });
  state.membership = succeeding(bootstrapMembership([1, 2, 3]), { epoch: 1, voters, startSlot: 4 });
  return state;
}

test('a replica is a voter, a learner or removed, as its configuration and the first one say', () => {
  const rows: { id: number; recovered?: MultiDurableState; member: string }[] = [
    { id: 2, member: 'voter' },
    { id: 4, member: 'learner' },
    { id: 4, recovered: restartedInEpoch1([1, 2, 3, 4]), member: 'voter' },
    { id: 3, recovered: restartedInEpoch1([1, 2]), member: 'removed' },
    { id: 2, recovered: restartedInEpoch1([1, 2]), member: 'voter' },
  ];
  for (const r of rows) {
    const core = new MultiPaxos({ id: r.id, clusterSize: 3, randomSeed: 1 }, r.recovered);
    const view = core.view();
    assert.equal(view.member, r.member, JSON.stringify({ id: r.id, epoch: view.membership?.epoch }));
    assert.equal(view.commitIndex, r.recovered ? 4 : 1);
  }
});

test('phase 1 is answered only by a voter of that very epoch: an earlier one is told, a later one is fetched', () => {
  const rows: { epoch: number; answer: MultiMessage['type'][] }[] = [
    { epoch: 0, answer: ['reject'] },
    { epoch: 1, answer: ['promise'] },
    { epoch: 2, answer: ['catchup'] },
  ];
  for (const r of rows) {
    const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 }, restartedInEpoch1([1, 2, 3]));
    const prepare: MultiMessage = {
      type: 'prepare',
      from: 3,
      to: 2,
      epoch: r.epoch,
      ballot: Ballot(5, 3),
      fromSlot: 4,
    };
    const out = sent(stepReady(core, { type: 'message', message: prepare }));
    assert.deepEqual(
      out.map((m) => m.type),
      r.answer,
      `a prepare of epoch ${r.epoch}`,
    );
    const [answer] = out;
    if (answer?.type === 'reject') assert.equal(answer.epoch, 1, 'the reject names the epoch in force');
    if (answer?.type === 'catchup') assert.deepEqual([answer.to, answer.fromSlot], [3, 4]);
  }
});

/** The ticks (of `count`) on which `core` sent a message of `type`. */
function ticksSending(core: MultiPaxos, type: MultiMessage['type'], count: number): number[] {
  const ticks: number[] = [];
  for (let tick = 1; tick <= count; tick++)
    if (sent(stepReady(core, { type: 'tick' })).some((m) => m.type === type)) ticks.push(tick);
  return ticks;
}

test('a replica campaigns only as a voter that applied the stop-sign opening its epoch and knows of no later one, or whose catching up stalled', () => {
  const behindItsEpoch = restartedInEpoch1([1, 2, 3]);
  behindItsEpoch.chosen.delete(3); // The stop-sign's slot is not chosen here yet: the epoch record came first.
  const rows: { name: string; make: () => MultiPaxos; campaigns: boolean; notBeforeTick?: number }[] = [
    {
      name: 'a voter of the first epoch',
      make: () => new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 }),
      campaigns: true,
    },
    {
      name: 'a voter that applied the stop-sign of its epoch',
      make: () => new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 }, restartedInEpoch1([1, 2, 3])),
      campaigns: true,
    },
    {
      name: 'a voter behind the stop-sign of its epoch',
      make: () => new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 }, behindItsEpoch),
      campaigns: false,
    },
    { name: 'a learner', make: () => new MultiPaxos({ id: 4, clusterSize: 3, randomSeed: 1 }), campaigns: false },
    {
      name: 'a voter that heard of a later epoch',
      make: () => {
        const core = new MultiPaxos({ id: 2, clusterSize: 3, randomSeed: 1 });
        const commit: MultiMessage = {
          type: 'commit',
          from: 3,
          to: 2,
          epoch: 1,
          ballot: Ballot(9, 3),
          commitIndex: 12,
        };
        const out = sent(stepReady(core, { type: 'message', message: commit }));
        assert.deepEqual(
          out.map((m) => [m.type, m.to]),
          [['catchup', 3]],
          'it fetches the log from the later epoch',
        );
        return core;
      },
      // Nobody answers its catch-up here: after two election timeouts (30 ticks) without progress it runs the phase 1
      // that lets its epoch's voters learn the stop-sign again (seed 33101), not before.
      campaigns: true,
      notBeforeTick: 30,
    },
  ];
  // The first election timeout is at most 3 timeouts (15 ticks by default): 100 ticks leave room for several.
  for (const r of rows) {
    const core = r.make();
    const prepares = ticksSending(core, 'prepare', 100);
    assert.equal(prepares.length > 0, r.campaigns, `${r.name}: prepares on ticks ${prepares.join(',')}`);
    if (r.notBeforeTick !== undefined)
      assert.ok((prepares[0] ?? 0) >= r.notBeforeTick, `${r.name}: first prepare on tick ${prepares[0]}`);
    if (!r.campaigns) assert.notEqual(core.view().role, 'candidate', r.name);
  }
});
