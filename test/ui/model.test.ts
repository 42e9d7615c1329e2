import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import type { ClusterEvent } from '../../src/node/events.js';
import {
  applyEvent,
  CHOSEN_LIMIT,
  type DashboardState,
  FLOW_LIMIT,
  initialDashboard,
  KEY_LIMIT,
  LOG_LIMIT,
  logLineOf,
  SEED_LIMIT,
  seedChosen,
  selectNode,
} from '../../src/ui/model.js';
import { basicStream, fold, multiStream, status } from './fixtures.js';

const multi = () => fold(multiStream(), { clusterSize: 5, protocol: 'multi' });

test('header figures: leader is the up replica claiming leader with the highest ballot', () => {
  const s = multi();
  assert.equal(s.clusterSize, 5);
  assert.equal(s.protocol, 'multi');
  assert.deepEqual(s.leader, { id: 3, ballot: Ballot(4, 3) });
  assert.equal(s.totalChosen, 17);
  // Between the two statuses each replica sent 100 messages a second, node-3 400: 100 * 3 up followers + 400.
  // node-2 is down, so its sends no longer count.
  assert.equal(s.messageRatePerSec, 700);
  const stale = applyEvent(s, status({ node: 1, role: 'leader', promised: Ballot(2, 1), uptimeMs: 3000 }));
  assert.equal(stale.leader?.id, 3, 'a lower ballot claiming leadership is stale');
  const newer = applyEvent(s, status({ node: 4, role: 'leader', promised: Ballot(5, 4), uptimeMs: 3000 }));
  assert.deepEqual(newer.leader, { id: 4, ballot: Ballot(5, 4) });
  const leaderDead = applyEvent(s, { type: 'replica-down', node: 3, reason: 'killed', atMs: 1 });
  assert.equal(leaderDead.leader, null, "a dead replica is nobody's leader");
});

test('rows: roles, liveness, isolation from the partition, rates from successive counters', () => {
  const s = multi();
  assert.deepEqual(
    s.rows.map((r) => r.role),
    ['follower', 'follower', 'leader', 'follower', 'follower'],
  );
  assert.deepEqual(
    s.rows.map((r) => r.liveness),
    ['up', 'down', 'up', 'up', 'up'],
  );
  assert.deepEqual(
    s.rows.map((r) => r.isolated),
    [false, false, false, false, true],
  );
  const r3 = s.rows[2];
  assert.equal(r3.messagesIn, 200);
  assert.equal(r3.messagesOut, 800);
  assert.equal(r3.messageRatePerSec, 500);
  assert.deepEqual(r3.lastAccepted, { instance: '17', ballot: Ballot(4, 3), value: 'x=7' });
  assert.equal(s.rows[1].messageRatePerSec, 0, 'a dead replica sends nothing');
  // A replica that was alone in no group is isolated too.
  const noGroup = applyEvent(s, {
    type: 'faults',
    partition: [
      [1, 2],
      [3, 4],
    ],
    delayMs: null,
    dropRate: 0,
    atMs: 2,
  });
  assert.deepEqual(
    noGroup.rows.map((r) => r.isolated),
    [false, false, false, false, true],
  );
  const healed = applyEvent(s, { type: 'faults', partition: null, delayMs: null, dropRate: 0, atMs: 3 });
  assert.deepEqual(
    healed.rows.map((r) => r.isolated),
    [false, false, false, false, false],
  );
  assert.equal(healed.rows[4]!.log.at(-1)!.text, 'rejoined the network');
});

test('a restarted replica (uptime going back) gets a fresh rate, not a negative one', () => {
  let s = multi();
  s = applyEvent(
    s,
    status({ node: 1, role: 'follower', promised: Ballot(4, 3), messagesIn: 5, messagesOut: 5, uptimeMs: 100 }),
  );
  assert.equal(s.rows[0].messageRatePerSec, 0);
  s = applyEvent(
    s,
    status({ node: 1, role: 'follower', promised: Ballot(4, 3), messagesIn: 55, messagesOut: 55, uptimeMs: 600 }),
  );
  assert.equal(s.rows[0].messageRatePerSec, 200);
});

test('down is cleared only by replica-up, not by a status that trailed the crash', () => {
  let s = multi();
  s = applyEvent(s, status({ node: 2, role: 'leader', promised: Ballot(9, 2), uptimeMs: 5000 }));
  assert.equal(s.rows[1].liveness, 'down');
  assert.equal(s.rows[1].role, 'follower');
  s = applyEvent(s, { type: 'replica-up', node: 2, pid: 99, atMs: 50 });
  assert.equal(s.rows[1].liveness, 'up');
  assert.equal(s.rows[1].pid, 99);
  assert.equal(s.rows[1]!.log.at(-1)!.text, 'up (pid 99)');
});

test('chosen values: deduplicated across replicas, highest slot first, value and ballot kept', () => {
  const s = multi();
  assert.deepEqual(
    s.chosen.map((c) => [c.instance, c.value]),
    [
      ['17', 'x=7'],
      ['16', 'y=1'],
    ],
  );
  assert.deepEqual(s.chosen[0].ballot, Ballot(4, 3));
  // A replica catching up reports an old slot; it goes where it belongs, not on top.
  const late = applyEvent(s, { type: 'chosen', node: 2, instance: '3', value: 'z=1', ballot: null, atMs: 9 });
  assert.deepEqual(
    late.chosen.map((c) => c.instance),
    ['17', '16', '3'],
  );
});

test('flow: newest first, each line with its arrow text', () => {
  const s = multi();
  assert.equal(s.flow[0].text, 'node-1 → node-3 accepted #17 (4.3)');
  assert.equal(s.flow[1].text, 'node-3 → node-1 accept #17 (4.3, x=7)');
  assert.equal(s.flow[2].text, 'node-3 → node-2 accept #17 (4.3, x=7)');
  const dropped = applyEvent(s, { type: 'flow', node: 1, lines: [], droppedLines: 12 });
  assert.equal(dropped.flowNotShown, 12);
});

test('logs: log lines and notable core events as sentences, per node', () => {
  const s = multi();
  assert.deepEqual(
    s.rows[2].log.map((l) => l.text),
    [
      'up (pid 4003)',
      'started as node-3 of 5 (multi paxos), recovered 0 records',
      'starts phase 1 at 4.3',
      'became leader at 4.3',
    ],
  );
  assert.deepEqual(
    s.rows[0].log.map((l) => l.text),
    ['up (pid 4001)', 'was pre-empted: 4.1 lost to 4.3', 'follows node-3'],
  );
  assert.equal(s.rows[1]!.log.at(-1)!.text, 'down: killed (SIGKILL)');
  assert.equal(
    logLineOf('basic', { type: 'preempted', ballot: Ballot(1, 1), by: Ballot(1, 3) }),
    'was pre-empted: 1.1 lost to 1.3',
  );
  assert.equal(logLineOf('basic', { type: 'backoff', ticks: 4, instance: 'x' }), 'backs off 4 ticks for x');
  // Routine per-slot phase 2 in multi mode would flood the log; adopted values are worth a line.
  const phase2 = {
    type: 'phase2',
    ballot: Ballot(4, 3),
    instance: '17',
    value: 'x=7',
    valueId: 'c1',
    quorum: [1, 2, 3],
    adopted: false,
  } as const;
  assert.equal(logLineOf('multi', phase2), null);
  assert.equal(logLineOf('multi', { ...phase2, adopted: true }), 'proposes #17 x=7 at 4.3 (adopted from a promise)');
  assert.equal(logLineOf('basic', { ...phase2, instance: 'x', value: '7' }), 'proposes x=7 at 4.3');
});

test("basic per-key view: the 000 article's A and B promised 1.3, C accepted (1.3, 7), chosen 7", () => {
  const s = fold(basicStream(), { clusterSize: 3, protocol: 'basic' });
  assert.equal(s.keys.length, 1);
  const x = s.keys[0];
  assert.equal(x.key, 'x');
  assert.deepEqual(
    x.cells.map((c) => c?.promised),
    [Ballot(1, 3), Ballot(1, 3), Ballot(1, 3)],
  );
  assert.deepEqual(
    x.cells.map((c) => c?.accepted ?? null),
    [null, null, { ballot: Ballot(1, 3), value: '7' }],
  );
  assert.equal(x.chosen, '7');
  assert.equal(s.leader, null, 'basic Paxos has no leader');
});

test('the key that changed last moves to the top of the per-key view', () => {
  let s = fold(basicStream(), { clusterSize: 3, protocol: 'basic' });
  s = applyEvent(
    s,
    status({
      node: 2,
      protocol: 'basic',
      role: 'acceptor',
      promised: Ballot(2, 2),
      keys: [{ key: 'y', promised: Ballot(2, 2), accepted: null, chosen: null }],
    }),
  );
  assert.deepEqual(
    s.keys.map((k) => k.key),
    ['y', 'x'],
  );
  const same = applyEvent(
    s,
    status({
      node: 1,
      protocol: 'basic',
      role: 'proposer',
      promised: Ballot(1, 3),
      keys: [{ key: 'x', promised: Ballot(1, 3), accepted: null, chosen: '7' }],
    }),
  );
  assert.deepEqual(
    same.keys.map((k) => k.key),
    ['y', 'x'],
    'an unchanged report does not reorder',
  );
});

test('selectNode clamps into the cluster and the log pane follows', () => {
  const s = multi();
  assert.equal(selectNode(s, 3).selected, 3);
  assert.equal(selectNode(s, 0).selected, 1);
  assert.equal(selectNode(s, 42).selected, 5);
});

test('events about nodes outside the cluster are ignored rather than growing the rows', () => {
  const s = multi();
  const after = applyEvent(s, { type: 'log', node: 9, line: 'hello', atMs: 1 });
  assert.equal(after, s);
  assert.equal(after.rows.length, 5);
});

test('100,000 flow events (and chosen, log and key floods) keep every list within its bound', () => {
  let s: DashboardState = initialDashboard({ clusterSize: 5, protocol: 'multi' });
  for (let i = 0; i < 100_000; i++) {
    const node = (i % 5) + 1;
    s = applyEvent(s, {
      type: 'flow',
      node,
      droppedLines: 3,
      lines: [{ atMs: i, type: 'accept', text: `node-${node} → node-1 accept #${i} (4.3, x=${i})` }],
    });
    if (i % 10 === 0)
      s = applyEvent(s, { type: 'chosen', node, instance: String(i), value: `x=${i}`, ballot: Ballot(4, 3), atMs: i });
    if (i % 10 === 5)
      s = applyEvent(s, { type: 'log', node: (Math.floor(i / 10) % 5) + 1, line: `line ${i}`, atMs: i });
  }
  assert.equal(s.flow.length, FLOW_LIMIT);
  assert.equal(s.flow[0].text, 'node-5 → node-1 accept #99999 (4.3, x=99999)');
  assert.equal(s.flowNotShown, 300_000);
  assert.equal(s.chosen.length, CHOSEN_LIMIT);
  assert.equal(s.chosen[0].instance, '99990');
  for (const row of s.rows) assert.equal(row.log.length, LOG_LIMIT);
  assert.equal(s.rows[4]!.log.at(-1)!.text, 'line 99995');

  // One oversized flow event cannot overflow the bound either.
  const lines = Array.from({ length: 1000 }, (_, i) => ({ atMs: i, type: 'accept', text: `line ${i}` }));
  const big = applyEvent(s, { type: 'flow', node: 1, lines, droppedLines: 0 });
  assert.equal(big.flow.length, FLOW_LIMIT);
  assert.equal(big.flow[0].text, 'line 999');

  let b: DashboardState = initialDashboard({ clusterSize: 3, protocol: 'basic' });
  for (let i = 0; i < 1000; i++) {
    const ev: ClusterEvent = status({
      node: (i % 3) + 1,
      protocol: 'basic',
      role: 'acceptor',
      promised: Ballot(1, 1),
      keys: Array.from({ length: 32 }, (_, k) => ({
        key: `k${i}-${k}`,
        promised: Ballot(1, 1),
        accepted: null,
        chosen: null,
      })),
    });
    b = applyEvent(b, ev);
    b = applyEvent(b, { type: 'chosen', node: 1, instance: `key${i}`, value: 'v', ballot: null, atMs: i });
  }
  assert.equal(b.keys.length, KEY_LIMIT);
  assert.equal(b.chosen.length, CHOSEN_LIMIT);
});

test('a cluster event resizes the rows and keeps what is known about the replicas that remain', () => {
  const s = multi();
  const smaller = applyEvent(selectNode(s, 5), { type: 'cluster', clusterSize: 3, protocol: 'multi', atMs: 1 });
  assert.equal(smaller.rows.length, 3);
  assert.equal(smaller.selected, 3);
  assert.equal(smaller.rows[2].role, 'leader');
  assert.throws(() => initialDashboard({ clusterSize: 0, protocol: 'multi' }), /positive integer/);
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

test('applyEvent is pure: it never mutates the state it is given', () => {
  for (const [events, opts] of [
    [multiStream(), { clusterSize: 5, protocol: 'multi' }],
    [basicStream(), { clusterSize: 3, protocol: 'basic' }],
  ] as const) {
    let s = deepFreeze(initialDashboard(opts));
    // Frozen objects throw on mutation in strict-mode modules, so any in-place change fails here.
    for (const e of events) s = deepFreeze(applyEvent(s, e));
    for (const e of events) s = deepFreeze(applyEvent(s, e));
    assert.equal(s.rows.length, opts.clusterSize);
  }
});

test('seedChosen: values read back from a replica are listed newest first with no ballot, once each', () => {
  const missed = [20, 17, 16, 3].map((slot) => ({ instance: String(slot), value: `s=${slot}`, ballot: null, atMs: 1 }));
  const s = seedChosen(multi(), { node: 1, entries: missed }, 5);
  // Slots 17 and 16 arrived live with their ballot and value; the log's copies of them add nothing.
  assert.deepEqual(
    s.chosen.map((c) => [c.instance, c.value]),
    [
      ['20', 's=20'],
      ['17', 'x=7'],
      ['16', 'y=1'],
      ['3', 's=3'],
    ],
  );
  assert.equal(s.chosen[0].ballot, null);
  assert.deepEqual(s.chosen[1].ballot, Ballot(4, 3));
  // A seeded slot that then arrives live keeps its place and gains the ballot, instead of being listed twice.
  const live = applyEvent(s, { type: 'chosen', node: 3, instance: '20', value: 's=20', ballot: Ballot(5, 3), atMs: 9 });
  assert.deepEqual(
    live.chosen.map((c) => c.instance),
    ['20', '17', '16', '3'],
  );
  assert.deepEqual(live.chosen[0]!.ballot, Ballot(5, 3));
  // A slot that is not a number cannot be placed in slot order, and at most SEED_LIMIT entries are taken.
  const many = Array.from({ length: SEED_LIMIT + 10 }, (_, i) => ({
    instance: String(1000 - i),
    value: 'v',
    ballot: null,
    atMs: 1,
  }));
  const bounded = seedChosen(
    initialDashboard({ clusterSize: 3, protocol: 'multi' }),
    { node: 1, entries: [{ instance: 'x', value: 'v', ballot: null, atMs: 1 }, ...many] },
    5,
  );
  assert.equal(bounded.chosen.length, SEED_LIMIT - 1);
  assert.equal(bounded.totalChosen, SEED_LIMIT - 1);
});

test('seedChosen in basic mode: seeded keys go below the keys chosen live, which are newer', () => {
  const s = seedChosen(
    fold(basicStream(), { clusterSize: 3, protocol: 'basic' }),
    {
      node: 2,
      entries: [
        { instance: 'z', value: '3', ballot: null, atMs: 1 },
        { instance: 'x', value: '7', ballot: null, atMs: 1 },
        { instance: 'a', value: '1', ballot: null, atMs: 1 },
      ],
    },
    5,
  );
  assert.deepEqual(
    s.chosen.map((c) => [c.instance, c.value]),
    [
      ['x', '7'],
      ['z', '3'],
      ['a', '1'],
    ],
  );
});

test("seedChosen: a failed read is one line in the asked replica's log (the selected one's if none was asked)", () => {
  const s = seedChosen(multi(), { node: 4, error: 'node-4: timed out' }, 5);
  assert.equal(s.rows[3]!.log.at(-1)!.text, 'could not read earlier chosen values: node-4: timed out');
  assert.deepEqual(s.chosen, multi().chosen);
  const none = seedChosen(multi(), { node: null, error: 'no replica is up to read them from\x1b[2J' }, 5);
  assert.equal(
    none.rows[0]!.log.at(-1)!.text.startsWith(
      'could not read earlier chosen values: no replica is up to read them from',
    ),
    true,
  );
  assert.doesNotMatch(
    none.rows[0]!.log.at(-1)!.text,
    /\x1b/,
    'an error sentence from the network cannot reach the terminal raw',
  );
});

test('a replica that joined (paxos add) gets a row when the orchestrator announces it; the header learns the newest configuration', () => {
  const s = fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const grown = applyEvent(s, { type: 'replica-up', node: 6, pid: 4006, atMs: 1 });
  assert.equal(grown.rows.length, 6);
  assert.equal(grown.rows[5].liveness, 'up');
  assert.equal(
    applyEvent(s, { type: 'replica-up', node: 65, pid: 1, atMs: 1 }).rows.length,
    5,
    'beyond MAX_NODE_ID nothing grows',
  );
  const basic = initialDashboard({ clusterSize: 3, protocol: 'basic' });
  assert.equal(
    applyEvent(basic, { type: 'replica-up', node: 4, pid: 1, atMs: 1 }).rows.length,
    3,
    'Basic Paxos has no joining replicas',
  );
  const e = status({ node: 3, role: 'leader', promised: Ballot(4, 3) }) as Extract<ClusterEvent, { type: 'status' }>;
  const withConfig = (epoch: number): ClusterEvent => ({
    ...e,
    status: {
      ...e.status,
      view: { ...e.status.view, membership: { epoch, voters: [1, 3, 6], startSlot: 40 + epoch }, member: 'voter' },
    },
  });
  const two = applyEvent(grown, withConfig(2));
  assert.deepEqual(two.membership, { epoch: 2, voters: [1, 3, 6], startSlot: 42 });
  assert.deepEqual(
    applyEvent(two, withConfig(1)).membership?.epoch,
    2,
    'an older configuration never replaces a newer one',
  );
});
