/**
 * Step mode's two pieces without processes: the clock that ticks only when
 * told, and the hold queue (ids, all-or-none release, its bound).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerLinks, PeerMessage } from '../../src/node/replica.js';
import { HoldingLinks, MAX_HELD, StepClock } from '../../src/node/step.js';

function prepare(to: number): PeerMessage {
  return { type: 'prepare', from: 1, to, epoch: 0, ballot: { round: 1, node: 1 }, fromSlot: 1 } as PeerMessage;
}

function links(): { inner: PeerLinks; sent: PeerMessage[]; lines: string[]; holding: HoldingLinks } {
  const sent: PeerMessage[] = [];
  const lines: string[] = [];
  const inner: PeerLinks = { send: (m) => sent.push(m), onMessage: () => undefined };
  return { inner, sent, lines, holding: new HoldingLinks(inner, 1, 'multi', (l) => lines.push(l)) };
}

test('the step clock fires its timers only on tick, once per tick', () => {
  const clock = new StepClock();
  let fired = 0;
  const stop = clock.every(10, () => fired++);
  assert.equal(fired, 0);
  clock.tick(3);
  assert.equal(fired, 3);
  stop();
  clock.tick(2);
  assert.equal(fired, 3);
});

test('held messages get node:seq ids, leave only when delivered, and a dropped one never leaves', () => {
  const { sent, holding } = links();
  holding.send(prepare(2));
  holding.send(prepare(3));
  assert.equal(sent.length, 0);
  const listed = holding.list();
  assert.deepEqual(
    listed.messages.map((m) => [m.id, m.from, m.to, m.type, m.ballot, m.slot]),
    [
      ['1:1', 1, 2, 'prepare', '1.1', 1],
      ['1:2', 1, 3, 'prepare', '1.1', 1],
    ],
  );
  assert.equal(listed.messages[0].text, 'node-1 → node-2 prepare (1.1) from #1');
  // All or none: one unknown id and nothing is delivered.
  assert.deepEqual(holding.deliver(['1:1', '1:9']), { done: [], missing: ['1:9'] });
  assert.equal(sent.length, 0);
  assert.deepEqual(
    holding.drop(['1:2']).done.map((m) => m.id),
    ['1:2'],
  );
  assert.deepEqual(
    holding.deliver(['1:1']).done.map((m) => m.id),
    ['1:1'],
  );
  assert.deepEqual(
    sent.map((m) => m.to),
    [2],
  );
  assert.deepEqual(holding.deliver(['1:2']).missing, ['1:2']);
  assert.equal(holding.list().total, 0);
});

test(`the hold queue keeps at most ${MAX_HELD} messages and says so when it drops`, () => {
  const { lines, holding } = links();
  for (let i = 0; i < MAX_HELD + 5; i++) holding.send(prepare(2));
  const l = holding.list(10);
  assert.deepEqual([l.total, l.droppedFull, l.messages.length], [MAX_HELD, 5, 10]);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /10000 messages are held/);
  holding.deliver('all');
  holding.send(prepare(3));
  assert.equal(holding.list().total, 1);
});

test('a duplicated message leaves as a copy and stays held; an injected one reaches the replica as if off the wire', () => {
  const { sent, holding } = links();
  const received: PeerMessage[] = [];
  holding.onMessage((m) => received.push(m));
  const journal: string[] = [];
  holding.onHeld = (id, m) => journal.push(`${id} ${m.type} to ${m.to}`);
  holding.send(prepare(2));
  assert.deepEqual(journal, ['1:1 prepare to 2']);
  assert.deepEqual(holding.duplicate(['1:1', '1:7']), { done: [], missing: ['1:7'] });
  assert.equal(sent.length, 0);
  assert.deepEqual(
    holding.duplicate(['1:1']).done.map((m) => m.id),
    ['1:1'],
  );
  assert.equal(holding.list().total, 1, 'a duplicated message is still held');
  assert.deepEqual(
    holding.deliver(['1:1']).done.map((m) => m.id),
    ['1:1'],
  );
  assert.deepEqual(
    sent.map((m) => m.to),
    [2, 2],
  );
  holding.inject(prepare(1));
  assert.deepEqual(
    received.map((m) => m.to),
    [1],
  );
});
