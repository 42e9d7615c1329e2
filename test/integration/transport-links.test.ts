/**
 * Replica links over real WebSockets on loopback: exchange, late discovery,
 * fault rules at both ends, reconnecting to a restarted peer, and the
 * bounds on what a link holds.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { afterEach, test } from 'node:test';
import { createWsTransport, type PeerAddress, type WsTransport } from '../../src/transport/ws-transport.js';
import { type Ping, ping, validatePing, waitFor } from './transport-helpers.js';

const SECRET = 'links-secret';
const MAX_FRAME_BYTES = 64 * 1024;

interface Node {
  readonly id: number;
  transport: WsTransport<Ping>;
  readonly inbox: Ping[];
  readonly log: string[];
}

let open: Node[] = [];
afterEach(async () => {
  await Promise.all(open.map((n) => n.transport.close()));
  open = [];
});

async function start(id: number, o: { port?: number; clusterSize?: number; secret?: string } = {}): Promise<Node> {
  const inbox: Ping[] = [];
  const log: string[] = [];
  const transport = await createWsTransport<Ping>({
    selfId: id,
    peers: new Map(),
    secret: o.secret ?? SECRET,
    listenPort: o.port ?? 0,
    clusterSize: o.clusterSize ?? 3,
    maxFrameBytes: MAX_FRAME_BYTES,
    validate: validatePing,
    seed: id,
    log: (line) => log.push(line),
  });
  transport.onMessage((m) => inbox.push(m));
  const node = { id, transport, inbox, log };
  open.push(node);
  return node;
}

function wire(nodes: Node[]): void {
  const peers = new Map<number, PeerAddress>(nodes.map((n) => [n.id, { host: '127.0.0.1', port: n.transport.port }]));
  for (const n of nodes) n.transport.setPeers(peers);
}

const ns = (inbox: Ping[], from?: number) => inbox.filter((m) => from === undefined || m.from === from).map((m) => m.n);

test('three transports exchange messages both ways, in order per link', async () => {
  const nodes = await Promise.all([1, 2, 3].map((id) => start(id)));
  wire(nodes);
  for (const a of nodes)
    for (const b of nodes) if (a !== b) for (let n = 0; n < 50; n++) a.transport.send(ping(a.id, b.id, n));
  await waitFor('every message', () => nodes.every((n) => n.inbox.length === 100));
  for (const b of nodes)
    for (const a of nodes)
      if (a !== b)
        assert.deepEqual(
          ns(b.inbox, a.id),
          Array.from({ length: 50 }, (_, i) => i),
        );
  for (const n of nodes) {
    const s = n.transport.stats();
    assert.equal(s.sent, 100);
    assert.equal(s.received, 100);
    assert.equal(s.dropped, 0);
    assert.equal(s.invalid, 0);
    assert.ok(s.bytesOut > 0 && s.bytesIn > 0);
  }
});

test('a send to a peer not yet known is dropped and counted, never thrown', async () => {
  const a = await start(1);
  a.transport.send(ping(1, 2, 1));
  assert.equal(a.transport.stats().dropped, 1);
});

test('a partition blocks the send and is healed; the receiving end enforces it too', async () => {
  const [a, b, c] = await Promise.all([1, 2, 3].map((id) => start(id)));
  wire([a, b, c]);
  a.transport.setFaults({ partition: [[1, 2], [3]] });
  a.transport.send(ping(1, 3, 1)); // cut off at the sender
  a.transport.send(ping(1, 2, 1));
  await waitFor('1 -> 2 inside the group', () => b.inbox.length === 1);
  c.transport.setFaults({ partition: [[1, 2]] }); // node-3 in no group: isolated
  b.transport.send(ping(2, 3, 2)); // node-2 has no rules; node-3 drops it on arrival
  await waitFor('node-3 to drop the arrival', () => c.transport.stats().dropped === 1);
  a.transport.setFaults({});
  c.transport.setFaults({});
  a.transport.send(ping(1, 3, 3));
  b.transport.send(ping(2, 3, 4));
  await waitFor('traffic after the heal', () => c.inbox.length === 2);
  assert.deepEqual(ns(c.inbox).sort(), [3, 4], 'nothing sent across the cut arrived');
  assert.equal(a.transport.stats().dropped, 1);
});

test('drop rate 1 loses everything, a seeded 50% loses some but not all, delay still delivers', async () => {
  const [a, b] = await Promise.all([1, 2].map((id) => start(id)));
  wire([a, b]);
  a.transport.setFaults({ dropRate: 1 });
  for (let n = 0; n < 20; n++) a.transport.send(ping(1, 2, n));
  assert.equal(a.transport.stats().dropped, 20);
  a.transport.setFaults({ dropRate: 0.5 });
  for (let n = 100; n < 300; n++) a.transport.send(ping(1, 2, n));
  const { sent } = a.transport.stats();
  assert.ok(sent > 0 && sent < 200, `sent ${sent} of 200`);
  await waitFor('the survivors', () => b.inbox.length === sent);
  a.transport.setFaults({ delayMs: { min: 5, max: 30 } });
  for (let n = 1000; n < 1020; n++) a.transport.send(ping(1, 2, n));
  await waitFor('delayed messages', () => ns(b.inbox).filter((n) => n >= 1000).length === 20);
});

test('a message larger than the frame limit is dropped at the sender; the link stays up', async () => {
  const [a, b] = await Promise.all([1, 2].map((id) => start(id)));
  wire([a, b]);
  a.transport.send(ping(1, 2, 1, '字'.repeat(MAX_FRAME_BYTES / 2))); // under the limit in characters, over it in bytes
  a.transport.send(ping(1, 2, 2, 'y'.repeat(MAX_FRAME_BYTES / 4)));
  a.transport.send(ping(1, 2, 3, 'z'.repeat(MAX_FRAME_BYTES / 4)));
  await waitFor('the messages that fit', () => b.inbox.length === 2);
  assert.deepEqual(ns(b.inbox), [2, 3]);
  assert.equal(a.transport.stats().dropped, 1);
  assert.equal(b.transport.stats().invalid, 0);
  assert.ok(a.log.some((l) => /larger than the/.test(l)));
});

test('a link redials a peer that restarted on the same port', async () => {
  const a = await start(1);
  let b = await start(2);
  const port = b.transport.port;
  wire([a, b]);
  a.transport.send(ping(1, 2, 1));
  await waitFor('first message', () => b.inbox.length === 1);
  await b.transport.close();
  open = open.filter((n) => n !== b);
  // Sent while node-2 is down: queued, or lost if node-1 has not yet seen the link close.
  for (let n = 2; !a.log.some((l) => /cannot reach node-2 at \S+: connection refused/.test(l)); n++) {
    assert.ok(n < 500, 'node-1 never noticed that node-2 is down');
    a.transport.send(ping(1, 2, n));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  b = await start(2, { port });
  for (let n = 1000; b.inbox.length === 0; n++) {
    assert.ok(n < 1500, 'node-2 never heard from node-1 again');
    a.transport.send(ping(1, 2, n));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await waitFor('the reconnection in the log', () => a.log.some((l) => /reached node-2 .* again/.test(l)));
});

test('frames for a peer that is down are bounded: the oldest are dropped and counted', async () => {
  const a = await start(1);
  const deadPort = await unusedPort();
  a.transport.setPeers(new Map([[2, { host: '127.0.0.1', port: deadPort }]]));
  for (let n = 0; n < 1100; n++) {
    a.transport.send(ping(1, 2, n));
    a.transport.flush(); // one frame each
  }
  assert.ok(a.transport.stats().dropped >= 1100 - 1024, `dropped ${a.transport.stats().dropped}`);
  await waitFor('the refusal in the log', () => a.log.some((l) => /connection refused/.test(l)));
});

test('a peer with the wrong secret is refused and the reason is logged once', async () => {
  const a = await start(1, { secret: 'not-the-secret' });
  const b = await start(2);
  wire([a, b]);
  for (let n = 0; n < 5; n++) {
    a.transport.send(ping(1, 2, n));
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  await waitFor('the refusal in the log', () => a.log.some((l) => /refused our cluster secret/.test(l)));
  assert.equal(a.log.filter((l) => /refused our cluster secret/.test(l)).length, 1);
  assert.equal(b.inbox.length, 0);
});

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('the peer table is the whole membership: a replica that joined (id beyond the bootstrap size) is reached, a removed one is dropped', async () => {
  const [a, b] = await Promise.all([start(1), start(2)]);
  const joined = await start(5);
  wire([a, b, joined]);
  a.transport.send(ping(1, 5, 1));
  await waitFor('node-5 hears node-1', () => joined.inbox.length === 1);
  // The registry pushes the table without node-2 (removed): its link closes, and nothing more is sent to it.
  a.transport.setPeers(
    new Map([
      [1, { host: '127.0.0.1', port: a.transport.port }],
      [5, { host: '127.0.0.1', port: joined.transport.port }],
    ]),
  );
  const dropped = a.transport.stats().dropped;
  a.transport.send(ping(1, 2, 2));
  a.transport.send(ping(1, 5, 3));
  await waitFor('node-5 hears node-1 again', () => joined.inbox.length === 2);
  assert.equal(a.transport.stats().dropped, dropped + 1);
  assert.deepEqual(ns(b.inbox, 1), []);
});
