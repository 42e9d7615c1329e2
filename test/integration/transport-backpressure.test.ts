/**
 * A peer or a control subscriber that is connected but never reads must not
 * make the sender buffer without bound: past the bound the sender drops,
 * counts and says so, and keeps running. The stalled reader is a real
 * WebSocket on loopback whose TCP socket is paused after the upgrade, so the
 * kernel buffers fill and everything after that stays in the sender.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import {
  type ControlConnection,
  MAX_PUSH_BACKLOG_BYTES,
  startWsServer,
  type WsServer,
} from '../../src/transport/server.js';
import { createWsTransport, MAX_LINK_BACKLOG_BYTES, type WsTransport } from '../../src/transport/ws-transport.js';
import { type Ping, ping, validatePing, waitFor } from './transport-helpers.js';

const SECRET = 'backpressure-secret';
const MIB = 1024 * 1024;
/** Large enough for the 1 MiB messages below; the bound is then the default 64 MiB, as in a real replica. */
const MAX_FRAME_BYTES = 4 * MIB;
/** ws adds a frame header of at most 14 bytes to each frame; the bound is on payload bytes. */
const HEADER_SLACK_BYTES = 64 * 1024;

/** Everything a test started, stopped by afterEach whatever the test did. */
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A WebSocket server that completes every upgrade and then never reads another byte. */
async function stalledPeer(): Promise<{ port: number; connected: () => boolean }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  let sockets = 0;
  wss.on('connection', (ws) => {
    sockets++;
    pauseReading(ws);
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return { port: (wss.address() as AddressInfo).port, connected: () => sockets > 0 };
}

/** Stops reading from the TCP socket under a WebSocket: the peer's kernel buffer fills and then the sender's. */
function pauseReading(ws: WebSocket): void {
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

async function sender(
  o: { maxLinkBacklogBytes?: number } = {},
): Promise<{ transport: WsTransport<Ping>; log: string[] }> {
  const log: string[] = [];
  const transport = await createWsTransport<Ping>({
    selfId: 1,
    peers: new Map(),
    secret: SECRET,
    listenPort: 0,
    clusterSize: 3,
    maxFrameBytes: MAX_FRAME_BYTES,
    validate: validatePing,
    seed: 1,
    log: (line) => log.push(line),
    ...o,
  });
  cleanups.push(() => transport.close());
  return { transport, log };
}

test('a connected peer that never reads costs the sender at most the link bound; the rest is dropped, counted and logged', async () => {
  const peer = await stalledPeer();
  const { transport, log } = await sender();
  transport.setPeers(new Map([[2, { host: '127.0.0.1', port: peer.port }]]));
  transport.send(ping(1, 2, 0));
  await waitFor('the link to open', () => peer.connected() && transport.backlog(2)!.open);

  const big = 'x'.repeat(MIB);
  let mostBuffered = 0;
  // Twice the bound in 1 MiB messages, one frame each: far more than the kernel and the bound hold together.
  for (let n = 1; n <= (2 * MAX_LINK_BACKLOG_BYTES) / MIB; n++) {
    transport.send(ping(1, 2, n, big));
    transport.flush();
    mostBuffered = Math.max(mostBuffered, transport.backlog(2)!.bufferedBytes);
  }

  assert.ok(
    mostBuffered <= MAX_LINK_BACKLOG_BYTES + HEADER_SLACK_BYTES,
    `the link held ${mostBuffered} bytes unsent, over the ${MAX_LINK_BACKLOG_BYTES}-byte bound`,
  );
  assert.ok(
    mostBuffered > MAX_LINK_BACKLOG_BYTES / 2,
    `the link never filled (${mostBuffered} bytes): the peer was not stalled`,
  );
  const stats = transport.stats();
  assert.ok(stats.droppedBacklog > 0, 'nothing was dropped for the full backlog');
  assert.ok(stats.dropped >= stats.droppedBacklog, 'backlog drops are not in the total');
  const warnings = log.filter((l) =>
    /^dropping messages to node-2 because it has left [\d.]+ MiB unread and a peer may leave at most 64\.0 MiB; \d+ dropped so far/.test(
      l,
    ),
  );
  assert.ok(warnings.length >= 1, `no warning naming node-2, got: ${log.join(' | ')}`);
  assert.ok(warnings.length < stats.droppedBacklog, 'one warning per dropped message: the log is not rate-limited');
});

test('frames for an unreachable peer are bounded in bytes too, dropping the oldest', async () => {
  const deadPort = await unusedPort();
  const bound = 2 * MAX_FRAME_BYTES; // The smallest bound allowed: two frames.
  const { transport, log } = await sender({ maxLinkBacklogBytes: bound });
  transport.setPeers(new Map([[2, { host: '127.0.0.1', port: deadPort }]]));
  const big = 'y'.repeat(MIB);
  for (let n = 0; n < 40; n++) {
    transport.send(ping(1, 2, n, big));
    transport.flush();
    assert.ok(
      transport.backlog(2)!.queuedBytes <= bound,
      `queued ${transport.backlog(2)!.queuedBytes} bytes for a peer that is down`,
    );
  }
  assert.ok(transport.stats().droppedBacklog >= 40 - bound / MIB, `dropped only ${transport.stats().droppedBacklog}`);
  assert.ok(
    log.some((l) =>
      /^dropping messages to node-2 because it is unreachable and \d+ frames \([\d.]+ MiB\) already wait for it, at most 1024 frames or 8\.0 MiB per peer/.test(
        l,
      ),
    ),
    log.join(' | '),
  );
});

test('a control subscriber that never reads gets its events dropped past the bound, and the server says so', async () => {
  const log: string[] = [];
  let conn: ControlConnection | null = null;
  const server: WsServer = await startWsServer({
    port: 0,
    secret: SECRET,
    clusterSize: 3,
    maxFrameBytes: MIB,
    validate: validatePing,
    onPeerMessage: () => undefined,
    log: (line) => log.push(line),
    onControl: (c) => {
      conn = c;
    },
  });
  cleanups.push(() => server.close());
  const client = new WebSocket(`ws://127.0.0.1:${server.port}/control`, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  client.on('error', () => undefined);
  cleanups.push(() => client.terminate());
  await new Promise((resolve) => client.once('open', resolve));
  pauseReading(client);
  await waitFor('the server to accept the subscriber', () => conn !== null);

  const event = { type: 'flow', text: 'z'.repeat(64 * 1024) };
  let mostUnread = 0;
  // 128 MiB of events at 64 KiB each: a dashboard stuck for a long while.
  for (let n = 0; n < 2048; n++) {
    conn!.push({ ...event, n });
    mostUnread = Math.max(mostUnread, conn!.unreadBytes());
  }

  assert.ok(
    mostUnread <= MAX_PUSH_BACKLOG_BYTES + HEADER_SLACK_BYTES,
    `the subscriber held ${mostUnread} bytes unread, over the bound`,
  );
  assert.ok(server.counters.pushDropped > 0, 'no event was dropped');
  assert.ok(
    log.some((l) => /^dropping events for a control subscriber that has left \d+ KiB unread/.test(l)),
    log.join(' | '),
  );
});

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
