/**
 * The peer links encode a list of entries once per turn, however many
 * followers get it: the text must be JSON.stringify's, byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../../src/transport/ws-transport.js';

const entries = [
  { slot: 7, value: { kind: 'cmd', id: 's1.1', command: { op: 'set', key: 'x', value: 'a "quoted" \u0000 值' } } },
  { slot: 8, value: { kind: 'noop' } },
];
const accept = (to: number) => ({
  type: 'accept',
  from: 1,
  to,
  epoch: 0,
  ballot: { round: 3, node: 1 },
  entries,
  commitIndex: 6,
});

test('an accept is encoded as JSON.stringify would, its entries encoded once for every peer', () => {
  const cache = new Map<unknown, string>();
  assert.equal(encodeMessage(accept(2), cache), JSON.stringify(accept(2)));
  assert.equal(encodeMessage(accept(3), cache), JSON.stringify(accept(3)));
  assert.equal(cache.size, 1);
  assert.equal(cache.get(entries), JSON.stringify(entries));
  assert.deepEqual(JSON.parse(encodeMessage(accept(3), cache)), accept(3));
});

test('messages without entries, with none, or with a look-alike inside are encoded whole', () => {
  const cache = new Map<unknown, string>();
  const others: unknown[] = [
    { type: 'accepted', from: 2, to: 1, epoch: 0, ballot: { round: 3, node: 1 }, slots: [7, 8], commitIndex: 6 },
    { ...accept(2), entries: [] },
    { type: 'accept', from: 1, to: 2, key: 'x', ballot: { round: 1, node: 1 }, value: 'v' },
    { type: 'accept', to: 2, meta: { entries: '\u0000' }, entries },
  ];
  for (const m of others) assert.equal(encodeMessage(m, cache), JSON.stringify(m));
});
