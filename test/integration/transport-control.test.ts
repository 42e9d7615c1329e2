/**
 * The /control channel: request and response, errors as sentences, pushed
 * events, the bounds on what one client may cost the server, and the
 * client's failures to connect.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { OperatingError } from '../../src/errors.js';
import {
  type ControlConnection,
  MAX_INFLIGHT_REQUESTS,
  startWsServer,
  type WsServer,
} from '../../src/transport/server.js';
import { type ControlClient, ControlConnectError, connectControl } from '../../src/transport/ws-transport.js';
import { validatePing, waitFor } from './transport-helpers.js';

const SECRET = 'control-secret';
let server: WsServer;
const connections: ControlConnection[] = [];
const clients: ControlClient[] = [];
/** Requests with op 'hold' wait here until a test releases them. */
let held: (() => void)[] = [];

async function handle(req: unknown): Promise<unknown> {
  const r = req as { op?: string; x?: number };
  if (r.op === 'echo') return { ok: true, x: r.x };
  if (r.op === 'plain') return 42;
  if (r.op === 'fail') throw new OperatingError('that did not work');
  if (r.op === 'cycle') {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }
  if (r.op === 'hold') {
    await new Promise<void>((resolve) => held.push(resolve));
    return { ok: true };
  }
  throw new Error(`unknown request "${String(r.op)}"`);
}

before(async () => {
  server = await startWsServer({
    port: 0,
    secret: SECRET,
    clusterSize: 3,
    maxFrameBytes: 1024 * 1024,
    validate: validatePing,
    onPeerMessage: () => undefined,
    onControl: (conn) => {
      connections.push(conn);
      conn.onRequest(handle);
    },
  });
});

after(async () => {
  for (const c of clients) c.close();
  for (const release of held) release();
  await server.close();
});

async function client(): Promise<ControlClient> {
  const c = await connectControl({ host: '127.0.0.1', port: server.port, secret: SECRET, timeoutMs: 3000 });
  clients.push(c);
  return c;
}

test("requests get their answers, failures come back as the handler's sentence", async () => {
  const c = await client();
  const answers = await Promise.all([1, 2, 3].map((x) => c.request({ op: 'echo', x }, 3000)));
  assert.deepEqual(
    answers.map((a) => (a as { x: number }).x),
    [1, 2, 3],
  );
  assert.equal(((await c.request({ op: 'plain' }, 3000)) as { result: number }).result, 42);
  await assert.rejects(c.request({ op: 'fail' }, 3000), { message: 'that did not work' });
  await assert.rejects(c.request({ op: 'nope' }, 3000), { message: 'unknown request "nope"' });
  await assert.rejects(c.request({ op: 'cycle' }, 3000), /could not be encoded as JSON/);
  assert.equal(
    ((await c.request({ op: 'echo', x: 9 }, 3000)) as { x: number }).x,
    9,
    'the connection survives all of that',
  );
});

test('frames that are not requests get an error answer, not a crash', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/control`, { headers: { authorization: `Bearer ${SECRET}` } });
  ws.on('error', () => undefined);
  await new Promise((resolve) => ws.once('open', resolve));
  const answers: { id: unknown; error?: string }[] = [];
  // A list is a list of requests (control-frames.ts): '[1,2]' holds two things that are not requests, answered in one list.
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    answers.push(...(Array.isArray(frame) ? frame : [frame]));
  });
  for (const frame of ['not json', 'null', '[1,2]', '{"op":"echo"}', '{"id":{},"op":"echo"}', '[]']) ws.send(frame);
  await waitFor('seven answers', () => answers.length === 7);
  for (const a of answers) assert.equal(a.id, null);
  assert.deepEqual(
    answers.map((a) => typeof a.error),
    Array(7).fill('string'),
  );
  ws.close();
});

test('a list of requests in one frame is answered in one frame, a list in the order the answers came', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/control`, { headers: { authorization: `Bearer ${SECRET}` } });
  ws.on('error', () => undefined);
  const upgraded = new Promise<string | undefined>((resolve) =>
    ws.once('upgrade', (res) => resolve(res.headers['x-paxos-control-batch'] as string | undefined)),
  );
  await new Promise((resolve) => ws.once('open', resolve));
  assert.equal(await upgraded, '1', 'the server says it reads lists');
  const frames: unknown[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  ws.send(JSON.stringify([1, 2, 3].map((x) => ({ id: x, op: 'echo', x }))));
  await waitFor('one frame', () => frames.length === 1);
  assert.deepEqual(
    frames[0],
    [1, 2, 3].map((x) => ({ ok: true, x, id: x })),
  );
  // A single request on the same connection: its answer alone is the object it is.
  ws.send(JSON.stringify({ id: 4, op: 'echo', x: 4 }));
  await waitFor('two frames', () => frames.length === 2);
  assert.deepEqual(frames[1], { ok: true, x: 4, id: 4 });
  ws.close();
});

test('the client sends the requests of one turn in one frame to a server that reads lists, singly to one that does not', async () => {
  for (const lists of [true, false]) {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    if (lists) wss.on('headers', (headers) => headers.push('X-Paxos-Control-Batch: 1'));
    const seen: unknown[] = [];
    wss.on('connection', (sock) =>
      sock.on('message', (data) => {
        const frame = JSON.parse(String(data));
        seen.push(frame);
        const reqs = (Array.isArray(frame) ? frame : [frame]) as { id: number; x: number }[];
        const answers = reqs.map((r) => JSON.stringify({ x: r.x, id: r.id }));
        // An old server answers each request alone; a new one may answer in a list.
        if (lists) sock.send(`[${answers.join(',')}]`);
        else for (const a of answers) sock.send(a);
      }),
    );
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const c = await connectControl({ host: '127.0.0.1', port, secret: SECRET, timeoutMs: 3000 });
    const answers = await Promise.all([1, 2, 3].map((x) => c.request({ op: 'echo', x }, 3000)));
    assert.deepEqual(
      answers.map((a) => (a as { x: number }).x),
      [1, 2, 3],
    );
    assert.deepEqual(
      seen,
      lists ? [[1, 2, 3].map((x) => ({ op: 'echo', x, id: x }))] : [1, 2, 3].map((x) => ({ op: 'echo', x, id: x })),
      `lists ${lists}`,
    );
    c.close();
    await new Promise((resolve) => wss.close(resolve));
  }
});

test('pushed events reach the client in order', async () => {
  const c = await client();
  const events: unknown[] = [];
  c.onEvent((e) => events.push(e));
  await c.request({ op: 'echo', x: 0 }, 3000); // the server-side connection now exists
  const conn = connections[connections.length - 1];
  for (let i = 0; i < 10; i++) conn.push({ type: 'tick', i });
  await waitFor('ten events', () => events.length === 10);
  assert.deepEqual(
    events.map((e) => (e as { i: number }).i),
    [...Array(10).keys()],
  );
});

test('one connection may have a bounded number of requests unanswered; the rest are refused at once', async () => {
  const c = await client();
  const extra = 10;
  const results = Array.from({ length: MAX_INFLIGHT_REQUESTS + extra }, () =>
    c.request({ op: 'hold' }, 10_000).then(
      () => 'ok',
      (e: Error) => e.message,
    ),
  );
  await waitFor('every request to be held or refused', () => held.length === MAX_INFLIGHT_REQUESTS);
  for (const release of held) release();
  held = [];
  const outcomes = await Promise.all(results);
  assert.equal(outcomes.filter((o) => o === 'ok').length, MAX_INFLIGHT_REQUESTS);
  assert.equal(outcomes.filter((o) => /too many requests in flight/.test(o)).length, extra);
});

test('pushes to a client that stops reading are dropped and counted, and the server stays responsive', async () => {
  const known = connections.length;
  const socket = await rawControlClient();
  await waitFor('the server-side connection', () => connections.length > known);
  const conn = connections[connections.length - 1];
  const before = server.counters.pushDropped;
  const event = { blob: 'x'.repeat(256 * 1024) };
  for (let i = 0; i < 200; i++) conn.push(event); // 50 MiB at a client that reads nothing
  assert.ok(server.counters.pushDropped - before > 0, 'some pushes were dropped');
  const c = await client();
  assert.equal(((await c.request({ op: 'echo', x: 1 }, 3000)) as { x: number }).x, 1);
  socket.destroy();
});

/** Completes a /control handshake by hand and then never reads again. */
function rawControlClient(): Promise<ReturnType<typeof connect>> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(
        `GET /control HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${SECRET}\r\n\r\n`,
      );
    });
    socket.on('error', reject);
    socket.once('data', (chunk) => {
      if (!String(chunk).startsWith('HTTP/1.1 101')) return reject(new Error(`handshake failed: ${String(chunk)}`));
      socket.pause();
      resolve(socket);
    });
  });
}

test('connecting fails with one clear sentence: refused port, wrong secret', async () => {
  const closed = await startWsServer({
    port: 0,
    secret: SECRET,
    clusterSize: 3,
    maxFrameBytes: 1024,
    validate: () => null,
    onPeerMessage: () => undefined,
  });
  const port = closed.port;
  await closed.close();
  await assert.rejects(
    connectControl({ host: '127.0.0.1', port, secret: SECRET, timeoutMs: 2000, name: 'node-2' }),
    (err: Error) =>
      err instanceof ControlConnectError &&
      err.message === `cannot reach node-2 at 127.0.0.1:${port}: connection refused`,
  );
  await assert.rejects(
    connectControl({ host: '127.0.0.1', port: server.port, secret: 'wrong', timeoutMs: 2000, name: 'node-1' }),
    (err: Error) =>
      err.message ===
      `cannot reach node-1 at 127.0.0.1:${server.port}: refused: missing or wrong cluster secret (HTTP 401)`,
  );
  await assert.rejects(connectControl({ host: '127.0.0.1', port, secret: SECRET, timeoutMs: 2000 }), {
    message: `connection refused at 127.0.0.1:${port}`,
  });
});

test('a request pending when the connection drops fails with a sentence', async () => {
  const c = await client();
  const pending = c.request({ op: 'hold' }, 10_000);
  await waitFor('the request to be held', () => held.length === 1);
  const conn = connections[connections.length - 1];
  conn.close();
  await assert.rejects(pending, { message: 'the connection closed before an answer came' });
  for (const release of held) release();
  held = [];
});
