/**
 * Merging a live run's parts (trace/merge.ts): events in time order with
 * ties kept in part order, seq from 1, message ids renumbered in order of
 * their sends, a delivery never ahead of its send, and the result accepted by
 * the same readTrace that `paxos trace` uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTrace, type TraceEvent } from '../../src/trace/format.js';
import { mergeParts, parsePart } from '../../src/trace/merge.js';

const lines = (...events: object[]) => `${events.map((e, i) => JSON.stringify({ seq: i + 1, ...e })).join('\n')}\n`;
const T0 = 1_700_000_000_000;

// Two replicas' parts and the orchestrator's: wire ids are large and sender-specific, as live.ts makes them.
const orchestrator = lines({ ms: T0 + 5, ev: 'partition', groups: [[1], [2]] }, { ms: T0 + 9, ev: 'heal' });
const node1 = lines(
  { ms: T0 + 1, ev: 'send', id: 129, from: 1, to: 2, type: 'prepare', ballot: '1.1', slot: 1 },
  { ms: T0 + 5, ev: 'send', id: 257, from: 1, to: 2, type: 'accept', ballot: '1.1', value: 'x=1', slot: 1 },
  { ms: T0 + 7, ev: 'deliver', id: 130, to: 1 },
  { ms: T0 + 8, ev: 'chosen', node: 1, instance: '1', value: 'x=1', ballot: '1.1' },
);
const node2 = lines(
  { ms: T0 + 3, ev: 'deliver', id: 129, to: 2 },
  { ms: T0 + 4, ev: 'persist', node: 2, what: 'promise 1.1' },
  { ms: T0 + 4, ev: 'send', id: 130, from: 2, to: 1, type: 'promise', ballot: '1.1' },
  // A tie at T0+5 with the partition and the send: part order (orchestrator, node-1, node-2) decides.
  { ms: T0 + 5, ev: 'drop', id: 257, why: 'partition cut' },
  // A delivery whose send no part holds (its sender was killed before flushing): left out, and said so.
  { ms: T0 + 6, ev: 'deliver', id: 999, to: 2 },
);

test('the merge orders by ms, keeps ties in part order, renumbers seq and ids, and passes readTrace', () => {
  const { events, orphans } = mergeParts([orchestrator, node1, node2]);
  const text = events.map((e) => JSON.stringify(e)).join('\n');
  const read = readTrace(text, 'merged');
  assert.deepEqual(
    read.map((e) => e.seq),
    read.map((_, i) => i + 1),
  );
  assert.equal(orphans, 1);
  const kinds = events.map((e) => `${e.ev}${'id' in e ? e.id : ''}`);
  assert.deepEqual(kinds, [
    'note',
    'send1',
    'deliver1',
    'persist',
    'send2',
    'partition',
    'send3',
    'drop3',
    'deliver2',
    'chosen',
    'heal',
    'note',
  ]);
  // Time from the first event, which the opening note dates.
  assert.equal(events[0].ms, 0);
  assert.match((events[0] as Extract<TraceEvent, { ev: 'note' }>).text, /2023-11-14T22:13:20.001Z/);
  assert.deepEqual(
    events.map((e) => e.ms),
    [0, 0, 2, 3, 3, 4, 4, 4, 6, 7, 8, 8],
  );
  assert.match((events.at(-1) as Extract<TraceEvent, { ev: 'note' }>).text, /^1 deliveries or drops left out/);
});

test('a delivery stamped before its send (a clock step) follows the send, at the send time', () => {
  const a = lines({ ms: T0 + 10, ev: 'send', id: 129, from: 1, to: 2, type: 'accept', ballot: '1.1' });
  const b = lines({ ms: T0 + 9, ev: 'deliver', id: 129, to: 2 });
  const { events } = mergeParts([a, b]);
  assert.deepEqual(
    events.map((e) => [e.ev, e.ms]),
    [
      ['note', 0],
      ['send', 1],
      ['deliver', 1],
    ],
  );
  readTrace(events.map((e) => JSON.stringify(e)).join('\n'));
});

test('a torn last line (a process killed mid-write) is skipped and counted, not fatal', () => {
  const torn = `${lines({ ms: T0, ev: 'restart', node: 3 })}{"seq":2,"ms":${T0 + 1},"ev":"se`;
  assert.deepEqual(parsePart(torn).skipped, 1);
  const { events, skipped } = mergeParts([torn]);
  assert.equal(skipped, 1);
  assert.deepEqual(
    events.map((e) => e.ev),
    ['note', 'restart'],
  );
});
