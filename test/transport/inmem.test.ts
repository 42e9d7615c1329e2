/**
 * The in-memory twin: the same contract as the WebSocket transport
 * (asynchronous, best effort, validated, fault rules at both ends) without
 * sockets. Timers are mocked, so delays are checked exactly, not raced.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { InMemoryNetwork, type InMemoryTransport } from '../../src/transport/inmem.js';
import { ping, validatePing, type Ping } from '../integration/transport-helpers.js';

let net: InMemoryNetwork<Ping>;
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  net = new InMemoryNetwork<Ping>({ seed: 42, validate: validatePing });
});
afterEach(() => {
  net.close();
  mock.timers.reset();
});

function nodes(...ids: number[]): { t: InMemoryTransport<Ping>; inbox: Ping[] }[] {
  return ids.map((id) => {
    const t = net.join(id);
    const inbox: Ping[] = [];
    t.onMessage((m) => inbox.push(m));
    return { t, inbox };
  });
}

const ns = (inbox: Ping[]) => inbox.map((m) => m.n);

test('delivery is asynchronous, in order, and counted at both ends', () => {
  const [a, b] = nodes(1, 2);
  for (let n = 0; n < 5; n++) a!.t.send(ping(1, 2, n));
  assert.equal(b!.inbox.length, 0, 'nothing arrives inside send');
  assert.equal(net.inFlight(), 5);
  mock.timers.tick(0);
  assert.deepEqual(ns(b!.inbox), [0, 1, 2, 3, 4]);
  assert.equal(a!.t.stats().sent, 5);
  assert.equal(b!.t.stats().received, 5);
  assert.equal(a!.t.stats().bytesOut, b!.t.stats().bytesIn);
  assert.equal(net.inFlight(), 0);
});

test('messages travel as JSON: the receiver gets a copy, not the sender\'s object', () => {
  const [a, b] = nodes(1, 2);
  const m = { ...ping(1, 2, 1, 'before') };
  a!.t.send(m);
  (m as { text: string }).text = 'after';
  mock.timers.tick(0);
  assert.equal(b!.inbox[0]!.text, 'before');
  assert.notEqual(b!.inbox[0], m);
});

test('a partition cuts at the sender, and at the receiver for a sender whose rules are stale', () => {
  const [a, b, c] = nodes(1, 2, 3);
  net.setFaults({ partition: [[1, 2], [3]] });
  a!.t.send(ping(1, 2, 1));
  a!.t.send(ping(1, 3, 2));
  c!.t.send(ping(3, 1, 3));
  b!.t.setFaults({}); // node-2 has not heard of the partition yet
  b!.t.send(ping(2, 3, 4));
  mock.timers.tick(0);
  assert.deepEqual(ns(b!.inbox), [1]);
  assert.deepEqual(ns(c!.inbox), [], 'node-3 dropped what crossed the cut');
  assert.deepEqual(ns(a!.inbox), []);
  assert.equal(c!.t.stats().dropped, 2, 'its own send and the arrival from node-2');
  net.setFaults({});
  a!.t.send(ping(1, 3, 5));
  mock.timers.tick(0);
  assert.deepEqual(ns(c!.inbox), [5]);
});

test('seeded loss is reproducible and partial', () => {
  const run = (seed: number) => {
    const n = new InMemoryNetwork<Ping>({ seed });
    const a = n.join(1);
    const b = n.join(2);
    const got: number[] = [];
    b.onMessage((m) => got.push(m.n));
    a.setFaults({ dropRate: 0.5 });
    for (let i = 0; i < 200; i++) a.send(ping(1, 2, i));
    mock.timers.tick(0);
    assert.equal(a.stats().sent + a.stats().dropped, 200);
    n.close();
    return got;
  };
  const first = run(5);
  assert.ok(first.length > 50 && first.length < 150, `delivered ${first.length} of 200`);
  assert.deepEqual(run(5), first);
});

test('a delay holds a message for its drawn time, and a delayed message may overtake', () => {
  const [a, b] = nodes(1, 2);
  a!.t.setFaults({ delayMs: { min: 100, max: 100 } });
  a!.t.send(ping(1, 2, 1));
  a!.t.setFaults({});
  a!.t.send(ping(1, 2, 2));
  mock.timers.tick(99);
  assert.deepEqual(ns(b!.inbox), [2]);
  mock.timers.tick(1);
  assert.deepEqual(ns(b!.inbox), [2, 1]);
});

test('the receiver validates like the real server: bad shapes and forged senders are invalid', () => {
  const [a, b] = nodes(1, 2);
  a!.t.send({ ...ping(3, 2, 1) }); // node-1 claiming to be node-3
  a!.t.send({ type: 'pong', from: 1, to: 2, n: 1 } as unknown as Ping);
  a!.t.send(ping(1, 2, 7));
  mock.timers.tick(0);
  assert.deepEqual(ns(b!.inbox), [7]);
  assert.equal(b!.t.stats().invalid, 2);
});

test('a closed node loses what is sent to it; it can join again, and an id cannot join twice', () => {
  const [a, b] = nodes(1, 2);
  a!.t.send(ping(1, 2, 1));
  void b!.t.close();
  mock.timers.tick(0);
  assert.equal(a!.t.stats().dropped, 1);
  assert.deepEqual(ns(b!.inbox), []);
  a!.t.send(ping(1, 2, 2)); // nobody there
  mock.timers.tick(0);
  assert.equal(a!.t.stats().dropped, 2);
  const again = net.join(2);
  const inbox: Ping[] = [];
  again.onMessage((m) => inbox.push(m));
  a!.t.send(ping(1, 2, 3));
  mock.timers.tick(0);
  assert.deepEqual(ns(inbox), [3]);
  assert.throws(() => net.join(1), /already on this network/);
  a!.t.send(ping(1, 1, 4));
  assert.equal(a!.t.stats().dropped, 3, 'a send to oneself is dropped');
});

test('closing the network drops everything in flight', () => {
  const [a, b] = nodes(1, 2);
  a!.t.setFaults({ delayMs: { min: 1000, max: 2000 } });
  for (let n = 0; n < 10; n++) a!.t.send(ping(1, 2, n));
  assert.equal(net.inFlight(), 10);
  net.close();
  assert.equal(net.inFlight(), 0);
  mock.timers.tick(5000);
  assert.deepEqual(ns(b!.inbox), []);
});
