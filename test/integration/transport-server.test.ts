/**
 * The replica's WebSocket server on its own: who may connect, what happens
 * to frames that lie about their sender, are too big, or are garbage.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { MAX_NODE_ID } from '../../src/core/membership.js';
import { Random } from '../../src/core/random.js';
import { startWsServer, type WsServer } from '../../src/transport/server.js';
import { openPeer, type Ping, ping, rawUpgrade, validatePing, waitFor } from './transport-helpers.js';

const SECRET = 'test-secret-3f9a';
const MAX_FRAME_BYTES = 16 * 1024;
const SELF = 1;

let server: WsServer;
const delivered: Ping[] = [];
const logLines: string[] = [];
const sockets: WebSocket[] = [];

before(async () => {
  server = await startWsServer<Ping>({
    port: 0,
    secret: SECRET,
    clusterSize: 3,
    selfId: SELF,
    maxFrameBytes: MAX_FRAME_BYTES,
    validate: validatePing,
    onPeerMessage: (m) => delivered.push(m),
    log: (line) => logLines.push(line),
  });
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await server.close();
});

async function peer(as: number): Promise<WebSocket> {
  const ws = await openPeer({ port: server.port, secret: SECRET, as, maxPayload: MAX_FRAME_BYTES * 4 });
  sockets.push(ws);
  return ws;
}

/** Sends `m` as node `as` and waits until the server has handed it on. */
async function roundTrip(ws: WebSocket, m: Ping): Promise<void> {
  ws.send(JSON.stringify(m));
  await waitFor(`message n=${m.n}`, () => delivered.some((d) => d.n === m.n && d.from === m.from));
}

test('the upgrade checks secret, origin, host, replica id and path, each refusal with a one-line reason', async () => {
  const port = server.port;
  const good = { authorization: `Bearer ${SECRET}`, 'x-paxos-node': '2' };
  assert.equal((await rawUpgrade({ port, headers: good })).status, 101);
  assert.equal((await rawUpgrade({ port, headers: good, host: `localhost:${port}` })).status, 101);
  assert.equal(
    (await rawUpgrade({ port, path: '/control', headers: { authorization: `Bearer ${SECRET}` } })).status,
    101,
  );
  const cases: [string, Parameters<typeof rawUpgrade>[0], number, RegExp][] = [
    ['no secret', { port, headers: { 'x-paxos-node': '2' } }, 401, /secret/],
    ['wrong secret', { port, headers: { ...good, authorization: 'Bearer wrong' } }, 401, /secret/],
    ['secret not as Bearer', { port, headers: { ...good, authorization: SECRET } }, 401, /secret/],
    ['longer secret', { port, headers: { ...good, authorization: `Bearer ${SECRET}x` } }, 401, /secret/],
    ['browser origin', { port, headers: { ...good, origin: `http://127.0.0.1:${port}` } }, 403, /origin/],
    ['foreign host', { port, headers: good, host: `evil.example:${port}` }, 403, /Host/],
    ['right host, wrong port', { port, headers: good, host: `127.0.0.1:${port + 1}` }, 403, /Host/],
    ['no replica id', { port, headers: { authorization: `Bearer ${SECRET}` } }, 400, /X-Paxos-Node/],
    // Ids beyond the bootstrap size (3) are replicas that joined later; only ids past MAX_NODE_ID are out of range.
    [
      'replica id out of range',
      { port, headers: { ...good, 'x-paxos-node': String(MAX_NODE_ID + 1) } },
      400,
      /X-Paxos-Node/,
    ],
    ['replica id zero', { port, headers: { ...good, 'x-paxos-node': '0' } }, 400, /X-Paxos-Node/],
    ['replica id not a number', { port, headers: { ...good, 'x-paxos-node': '2abc' } }, 400, /X-Paxos-Node/],
    ['replica id of the server itself', { port, headers: { ...good, 'x-paxos-node': String(SELF) } }, 403, /itself/],
    ['unknown path', { port, path: '/admin', headers: good }, 404, /path/],
  ];
  for (const [name, request, status, reason] of cases) {
    const r = await rawUpgrade(request);
    assert.equal(r.status, status, name);
    assert.match(r.body, reason, name);
    assert.equal(r.body.trim().split('\n').length, 1, `${name}: the reason is one line`);
  }
  assert.ok(server.counters.refused >= cases.length);
});

test('a peer that claims another sender or addresses another node is dropped; its honest traffic still flows', async () => {
  const ws = await peer(2);
  const invalidBefore = server.counters.invalid;
  ws.send(JSON.stringify(ping(3, SELF, 1001))); // node-2 pretending to be node-3
  ws.send(JSON.stringify(ping(2, 3, 1002))); // addressed to node-3, not to this node
  ws.send(JSON.stringify([ping(2, SELF, 1003), ping(3, SELF, 1004)])); // one good, one forged, in one batch
  await roundTrip(ws, ping(2, SELF, 1005));
  assert.deepEqual(
    delivered.filter((d) => d.n > 1000 && d.n < 1100).map((d) => d.n),
    [1003, 1005],
  );
  assert.equal(server.counters.invalid - invalidBefore, 3);
});

test('an oversized frame closes that one connection; the server keeps serving others', async () => {
  const big = await peer(2);
  const other = await peer(3);
  const closed = new Promise<number>((resolve) => big.on('close', (code) => resolve(code)));
  big.send(JSON.stringify(ping(2, SELF, 2001, 'x'.repeat(MAX_FRAME_BYTES + 1))));
  assert.equal(await closed, 1009, 'closed as "message too big"');
  await roundTrip(other, ping(3, SELF, 2002));
  await roundTrip(await peer(2), ping(2, SELF, 2003));
  assert.ok(!delivered.some((d) => d.n === 2001));
});

/** Random bytes, truncated JSON, wrong shapes, and valid messages with a field deleted, retyped or forged: none of them valid. */
function fuzzFrame(random: Random, n: number): string | Buffer {
  const kind = random.int(0, 6);
  if (kind === 0) return Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)));
  const msg: Record<string, unknown> = { ...ping(2, SELF, n, 'fuzz') };
  if (kind === 1) return JSON.stringify(msg).slice(0, random.int(1, JSON.stringify(msg).length - 1));
  if (kind === 2)
    return JSON.stringify(
      random.pick<unknown>([
        null,
        42,
        'x',
        true,
        [],
        [[]],
        {},
        { type: 'ping' },
        { from: 2, to: 1 },
        [[ping(2, SELF, n)]],
      ]),
    );
  const field = random.pick(Object.keys(msg));
  if (kind === 3) delete msg[field];
  else if (kind === 4) msg[field] = random.pick<unknown>([null, -1, 1.5, 1e308, 'str', [], {}, true]);
  else if (kind === 5) msg.from = random.pick([1, 3, 0, 99]);
  else msg.extra = { nested: [1, 2, 3] };
  // Some mutations leave a valid message (deleting the optional text, retyping it to another string): break those too.
  const m = validatePing(msg);
  if (m !== null && m.from === 2 && m.to === SELF) msg.n = -1;
  return JSON.stringify(random.chance(0.3) ? [msg, msg] : msg);
}

test('10,000 random and mutated frames are counted and dropped; a valid message afterwards is delivered', async () => {
  const random = new Random(2024);
  const ws = await peer(2);
  const invalidBefore = server.counters.invalid;
  const deliveredBefore = delivered.length;
  const logBefore = logLines.length;
  for (let i = 0; i < 10_000; i++) {
    ws.send(fuzzFrame(random, 3000 + i));
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
  }
  await roundTrip(ws, ping(2, SELF, 99_999));
  assert.equal(delivered.length - deliveredBefore, 1, 'only the valid message got through');
  assert.ok(
    server.counters.invalid - invalidBefore >= 10_000,
    `invalid counted: ${server.counters.invalid - invalidBefore}`,
  );
  assert.ok(
    logLines.length - logBefore < 50,
    `the flood is rate-limited in the log (${logLines.length - logBefore} lines)`,
  );
});
