/**
 * Who may talk to a replica, and what a replica does with garbage. Runs
 * against a real 3-replica cluster on loopback.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { MAX_NODE_ID } from '../../src/core/membership.js';
import { Random } from '../../src/core/random.js';
import { MAX_FRAME_BYTES } from '../../src/node/limits.js';
import { eventually, TestCluster } from '../support/cluster.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
});
after(async () => {
  await cluster.stop();
});

/** Status code of a raw WebSocket upgrade attempt against node-1. */
function upgrade(o: { path?: string; headers?: Record<string, string>; host?: string }): Promise<number> {
  const port = cluster.port(1);
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: o.path ?? '/peer',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        host: o.host ?? `127.0.0.1:${port}`,
        ...o.headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the upgrade checks the secret, refuses browser origins, foreign hosts and unknown replicas', async () => {
  const auth = { authorization: `Bearer ${cluster.secret}`, 'x-paxos-node': '2' };
  assert.equal(await upgrade({ headers: auth }), 101);
  assert.equal(await upgrade({ headers: { 'x-paxos-node': '2' } }), 401);
  assert.equal(await upgrade({ headers: { ...auth, authorization: 'Bearer wrong' } }), 401);
  assert.equal(await upgrade({ headers: { ...auth, origin: 'http://evil.example' } }), 403);
  assert.equal(await upgrade({ headers: auth, host: `evil.example:${cluster.port(1)}` }), 403);
  // Ids beyond the bootstrap size belong to replicas that joined later (paxos add); only ids past MAX_NODE_ID, or none, are refused.
  assert.equal(await upgrade({ headers: { ...auth, 'x-paxos-node': '9' } }), 101);
  assert.equal(await upgrade({ headers: { ...auth, 'x-paxos-node': String(MAX_NODE_ID + 1) } }), 400);
  assert.equal(await upgrade({ headers: { ...auth, 'x-paxos-node': '0' } }), 400);
  assert.equal(await upgrade({ path: '/admin', headers: auth }), 404);
});

function openPeer(as: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${cluster.port(1)}/peer`, {
      headers: { authorization: `Bearer ${cluster.secret}`, 'x-paxos-node': String(as) },
      maxPayload: MAX_FRAME_BYTES * 2,
    });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function validAccept(random: Random): Record<string, unknown> {
  return {
    type: 'accept',
    from: 2,
    to: 1,
    ballot: { round: random.int(0, 3), node: random.int(0, 4) },
    entries: [
      {
        slot: random.int(0, 5),
        value: { kind: 'cmd', id: `2:${random.int(0, 9)}`, origin: 2, command: { op: 'set', key: 'x', value: 'fuzz' } },
      },
    ],
    commitIndex: random.int(0, 3),
  };
}

/** Random bytes, truncated JSON, wrong shapes, and valid messages with one field deleted or retyped. */
function fuzzFrame(random: Random): string | Buffer {
  const kind = random.int(0, 5);
  if (kind === 0) return Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)));
  const msg = validAccept(random);
  if (kind === 1) return JSON.stringify(msg).slice(0, random.int(1, 40));
  if (kind === 2)
    return JSON.stringify(
      random.pick([
        null,
        42,
        'x',
        [],
        [[]],
        { type: 'prepare' },
        { from: 2, to: 1 },
        [{ type: 'promise', from: 2, to: 1 }],
      ]),
    );
  const fields = Object.keys(msg);
  const field = random.pick(fields);
  if (kind === 3) delete msg[field];
  else if (kind === 4) msg[field] = random.pick([null, -1, 1e308, 'str', [], {}, true, { round: -5, node: 'a' }]);
  else msg.from = random.pick([1, 3, 0, 99]);
  return JSON.stringify(random.next() < 0.3 ? [msg, msg] : msg);
}

test('10,000 random and mutated frames leave the replica serving and in agreement with its peers', async () => {
  const random = new Random(2024);
  const ws = await openPeer(2);
  const before = cluster.status().replicas.find((r) => r.id === 1)!.pid;
  for (let i = 0; i < 10_000; i++) {
    ws.send(fuzzFrame(random));
    if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  ws.close();
  const r1 = cluster.status().replicas.find((r) => r.id === 1)!;
  assert.ok(r1.up && r1.pid === before, 'node-1 must survive the flood');
  const leader = await cluster.leader();
  const reply = await cluster.propose(leader, 'after-fuzz', 'ok', 10_000);
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.ok(
    await eventually(async () => {
      const dumps = await Promise.all([1, 2, 3].map((id) => cluster.kv(id)));
      return (
        dumps.every((d) => JSON.stringify(d) === JSON.stringify(dumps[0])) &&
        new Map(dumps[0]).get('after-fuzz') === 'ok'
      );
    }, 10_000),
    'the replicas disagree after the flood',
  );
});

test('an oversized frame closes only that connection; the replica keeps serving', async () => {
  const ws = await openPeer(3);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => undefined);
  ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1024, 0x20));
  assert.equal(await closed, 1009, 'message too big');
  const status = await cluster.request(1, { op: 'status' }, 5000);
  assert.ok('status' in status, 'node-1 still answers');
});

test('random control requests get an error sentence, never a crash', async () => {
  const random = new Random(7);
  for (let i = 0; i < 300; i++) {
    const body = random.pick<Record<string, unknown>>([
      { op: 'nope' },
      { op: 'propose' },
      { op: 'propose', key: '', value: 'x' },
      { op: 'propose', key: 'k', value: 'x'.repeat(70_000) },
      { op: 'faults', rules: 'all' },
      { op: 'faults', rules: { dropRate: 7 } },
      { op: 'peers', peers: { 2: { host: 5 } } },
      { op: 'get', key: 123 },
    ]);
    const r = await cluster.request(1, body as never, 3000);
    assert.equal(r.ok, false, JSON.stringify(body));
  }
  assert.ok('status' in (await cluster.request(1, { op: 'status' })));
});
