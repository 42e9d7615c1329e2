/**
 * The WebSocket server of a replica (or of the orchestrator): peers on
 * /peer, the CLI and orchestrator on /control. Every frame from the network
 * is parsed and validated before anything uses it; a bad one is counted,
 * logged (rate-limited, so a flood cannot fill the log) and dropped.
 */
import { chmodSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { ListenOptions } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { nodeName } from '../core/types.js';
import { type ControlRole, checkUpgrade } from './auth.js';
import { AnswerOutbox, BATCH_HEADER_LINE, checkRequest, requestsOf } from './control-frames.js';
import { corkForTurn } from './cork.js';
import { frameBytes, parseFrame } from './frame-text.js';
import type { ServerTls } from './tls.js';

export interface ControlConnection {
  /** What the connection's token allows (auth.ts): every request, or a client's only. */
  readonly role: ControlRole;
  onRequest(handler: (req: unknown) => Promise<unknown> | unknown): void;
  /** Server-initiated `{event}` frame; dropped (and counted) while the client is not reading. */
  push(event: unknown): void;
  /** Bytes written to this client that it has not read yet; pushes keep it near MAX_PUSH_BACKLOG_BYTES at most. */
  unreadBytes(): number;
  onClose(handler: () => void): void;
  close(): void;
}

export interface WsServerOptions<M> {
  readonly host?: string;
  readonly port: number;
  /**
   * Listen on this unix socket instead of host:port, created mode 0600 so
   * that only its owner (and root) can connect: the orchestrator's control
   * plane, which no other local user may reach, not even to open sockets.
   */
  readonly socketPath?: string;
  readonly secret: string;
  /** Separate admin and client tokens for /control (auth.ts); absent, the secret opens everything. */
  readonly adminSecret?: string;
  readonly clientSecret?: string;
  readonly clusterSize: number;
  /** The node this server belongs to (absent or 0 for the orchestrator): peer frames must be addressed to it. */
  readonly selfId?: number;
  readonly maxFrameBytes: number;
  readonly validate: (x: unknown) => M | null;
  /** `traceId` is the message's id in a live trace, 0 when its sender did not trace it. */
  readonly onPeerMessage: (m: M, traceId: number) => void;
  readonly onControl?: (conn: ControlConnection) => void;
  readonly log?: (line: string) => void;
  /** Off loopback, the Host headers accepted besides the bound address (see host-policy.ts). */
  readonly advertised?: readonly { readonly host: string; readonly port: number }[];
  readonly extraHosts?: readonly string[];
  /** The peer handshake's cluster id and the highest incarnation seen per peer (see auth.ts); absent, not checked. */
  readonly clusterId?: string;
  readonly checkIncarnations?: boolean;
  /**
   * A replica on its own host answers plain GET /livez and /readyz (200 or
   * 503, no data, no secret: a supervisor's probe has none); absent, every
   * plain HTTP request gets 426 as before.
   */
  readonly probes?: { readonly ready: () => boolean };
  /** A peer that passed the handshake said where it listens (X-Paxos-Advertise); absent, the header is ignored. */
  readonly onPeerAddress?: (node: number, address: { host: string; port: number }) => void;
  /** Serve wss:// with this certificate, and check peers' certificates (and clients' under clientCertAuth; tls.ts). */
  readonly tls?: ServerTls;
}

export interface WsServerCounters {
  received: number;
  invalid: number;
  bytesIn: number;
  /** Pushes not sent to a control client that had too much unread. */
  pushDropped: number;
  /** Connections refused at the upgrade. */
  refused: number;
}

export interface WsServer {
  readonly port: number;
  readonly counters: WsServerCounters;
  close(): Promise<void>;
}

/**
 * Bytes of pushed events a control subscriber may leave unread before
 * further events to it are dropped. Events are small (a status or a few flow
 * lines, kilobytes), so 4 MiB is thousands of them: far more than a live
 * dashboard falls behind, and little enough that a stuck one (suspended,
 * or its terminal frozen) cannot grow a replica's or the orchestrator's memory.
 */
export const MAX_PUSH_BACKLOG_BYTES = 4 * 1024 * 1024;
/** How often one subscriber's dropped events are reported in the log. */
const PUSH_DROP_LOG_INTERVAL_MS = 10_000;
/** Bytes of unread responses after which a control client that keeps asking but never reads is cut off. */
const MAX_RESPONSE_BACKLOG_BYTES = 64 * 1024 * 1024;
/** Requests one control connection may have unanswered at once; more get an error at once. */
export const MAX_INFLIGHT_REQUESTS = 1024;
/** Open sockets the server holds at most: peers, control clients and handshakes in progress. */
const MAX_CONNECTIONS = 1024;
/** How often failed TLS handshakes are reported: a peer that does not trust us retries several times a second. */
const TLS_FAILURE_LOG_INTERVAL_MS = 10_000;
/** How long a refused client gets to read its one-line reason before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1000;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
};

/** Writes the refusal on the raw socket, then destroys it once written (or after a short linger if the client never reads). */
function refuse(socket: Duplex, status: number, reason: string): void {
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('finish', () => socket.destroy());
  const text = STATUS_TEXT[status] ?? 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
  );
}

/** Logs the first line and then at most one line a second, saying how many were held back. */
export function rateLimitedLog(log: ((line: string) => void) | undefined, intervalMs = 1000): (line: string) => void {
  let lastMs = -Infinity;
  let suppressed = 0;
  return (line) => {
    const now = Date.now();
    if (now - lastMs < intervalMs) {
      suppressed++;
      return;
    }
    log?.(suppressed > 0 ? `${line} (and ${suppressed} more held back since the last report)` : line);
    lastMs = now;
    suppressed = 0;
  };
}

export { frameBytes, parseFrame } from './frame-text.js';

export async function startWsServer<M extends { from: number; to: number }>(o: WsServerOptions<M>): Promise<WsServer> {
  const host = o.host ?? '127.0.0.1';
  const onRequest: RequestListener = (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (o.probes !== undefined && req.method === 'GET' && path === '/livez')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (o.probes !== undefined && req.method === 'GET' && path === '/readyz') {
      const ready = o.probes.ready();
      return void res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ready\n' : 'not ready\n');
    }
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
  };
  const http = o.tls === undefined ? createServer(onRequest) : tlsServer(o.tls, onRequest);
  http.maxConnections = MAX_CONNECTIONS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false });
  // Control clients that see it may send their requests in lists (control-frames.ts); peers ignore it.
  wss.on('headers', (headers: string[]) => {
    headers.push(BATCH_HEADER_LINE);
  });
  const counters: WsServerCounters = { received: 0, invalid: 0, bytesIn: 0, pushDropped: 0, refused: 0 };
  const warn = rateLimitedLog(o.log);
  // A handshake that fails before any request (a client that does not trust our certificate, plain ws:// on a TLS port) is logged here.
  if (o.tls !== undefined) {
    const warnTls = rateLimitedLog(o.log, TLS_FAILURE_LOG_INTERVAL_MS);
    http.on('tlsClientError', (err: Error) => warnTls(tlsFailure(err)));
  }
  let port = o.port;
  const incarnations = o.checkIncarnations === true ? new Map<number, number>() : undefined;
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const selfId = o.selfId !== undefined && o.selfId > 0 ? o.selfId : undefined;
    const verdict = checkUpgrade(req, {
      secret: o.secret,
      ...(o.adminSecret !== undefined ? { adminSecret: o.adminSecret } : {}),
      ...(o.clientSecret !== undefined ? { clientSecret: o.clientSecret } : {}),
      host,
      port,
      clusterSize: o.clusterSize,
      ...(selfId ? { selfId } : {}),
      ...(o.advertised !== undefined ? { advertised: o.advertised } : {}),
      ...(o.extraHosts !== undefined ? { extraHosts: o.extraHosts } : {}),
      ...(o.clusterId !== undefined ? { clusterId: o.clusterId } : {}),
      ...(incarnations !== undefined ? { incarnations } : {}),
      ...(o.socketPath !== undefined ? { unixSocket: true } : {}),
      ...(o.tls !== undefined ? { tls: { clusterId: o.tls.clusterId, clientCertAuth: o.tls.clientCertAuth } } : {}),
    });
    if (!verdict.ok) {
      counters.refused++;
      warn(`refused a connection from ${req.socket.remoteAddress}: ${verdict.reason}`);
      return refuse(socket, verdict.status, verdict.reason);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Without an 'error' listener an oversized frame (ws closes with 1009 and emits 'error') crashes the process.
      ws.on('error', (err) => warn(`connection error: ${err.message}`));
      if (verdict.kind === 'peer') {
        const advertised = advertisedAddress(req.headers['x-paxos-advertise']);
        if (advertised !== null) o.onPeerAddress?.(verdict.node, advertised);
        acceptPeer(ws, verdict.node, { o, counters, warn });
      } else if (o.onControl)
        o.onControl(
          controlConnection(ws, verdict.role, {
            counters,
            warn,
            cork: corkForTurn(socket),
            ...(o.log ? { warnRaw: o.log } : {}),
          }),
        );
      else ws.close(1008, 'no control here');
    });
  });
  if (o.socketPath !== undefined) await listenPrivate(http, o.socketPath, warn);
  else await listen(http, { host, port: o.port, exclusive: true }, warn);
  const address = http.address();
  port = typeof address === 'object' && address !== null ? address.port : o.port;
  return { port, counters, close: () => closeServer(http, wss) };
}

/**
 * A TLS server that asks every client for a certificate but lets the
 * handshake finish without one: the upgrade then refuses with a sentence
 * both ends can read (a TLS alert tells the client little and the server
 * nothing), and a supervisor's plain probe of /livez needs no certificate.
 */
function tlsServer(t: ServerTls, onRequest: RequestListener): ReturnType<typeof createServer> {
  return createTlsServer(
    { cert: t.cert, key: t.key, ca: t.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    onRequest,
  ) as unknown as ReturnType<typeof createServer>;
}

function tlsFailure(err: Error): string {
  const what = err.message.split('\n')[0];
  return /hang up|ECONNRESET/i.test(what)
    ? `a client closed its TLS handshake (${what}): most likely it does not trust this replica's certificate (another CA, or not this node's)`
    : `a TLS handshake failed: ${what}`;
}

/** `host:port` from a peer's X-Paxos-Advertise header, or null for anything else. */
function advertisedAddress(header: string | string[] | undefined): { host: string; port: number } | null {
  if (typeof header !== 'string') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]{1,253})):(\d{1,5})$/.exec(header.trim());
  const port = m === null ? 0 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

function listen(
  http: ReturnType<typeof createServer>,
  where: ListenOptions,
  warn: (line: string) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(where, () => {
      http.off('error', reject);
      // Later server errors (accept failures under fd exhaustion) are operating errors, not crashes.
      http.on('error', (err) => warn(`server error: ${err.message}`));
      resolve();
    });
  });
}

/**
 * Binds a unix socket that only this user can open. The mode comes from the
 * umask at bind time, so the umask is narrowed around the (synchronous) bind
 * rather than chmod-ing after it, which would leave a moment when anyone
 * could connect; the mode is then checked, not assumed.
 */
async function listenPrivate(
  http: ReturnType<typeof createServer>,
  path: string,
  warn: (line: string) => void,
): Promise<void> {
  const before = process.umask(0o177);
  let bound: Promise<void>;
  try {
    bound = listen(http, { path, exclusive: true }, warn);
  } finally {
    process.umask(before);
  }
  await bound;
  const mode = statSync(path).mode & 0o777;
  if (mode !== 0o600) {
    chmodSync(path, 0o600);
    warn(`${path} was created with mode ${mode.toString(8)}; made it 600`);
  }
}

function closeServer(http: ReturnType<typeof createServer>, wss: WebSocketServer): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

interface PeerContext<M> {
  readonly o: WsServerOptions<M>;
  readonly counters: WsServerCounters;
  readonly warn: (line: string) => void;
}

/** Inbound frames from an authenticated peer: a message or a JSON array of messages, each checked on its own. */
function acceptPeer<M extends { from: number; to: number }>(ws: WebSocket, node: number, ctx: PeerContext<M>): void {
  const { counters, warn } = ctx;
  ws.on('message', (data: RawData) => {
    counters.bytesIn += frameBytes(data);
    let parsed: unknown;
    try {
      parsed = parseFrame(data);
    } catch {
      counters.invalid++;
      return warn(`dropped a frame from ${nodeName(node)} that is not JSON`);
    }
    const { list, ids } = unpackFrame(parsed);
    if (list.length === 0) {
      counters.invalid++;
      return warn(`dropped an empty batch from ${nodeName(node)}`);
    }
    list.forEach((item, i) => {
      admit(item, node, ctx, ids[i]);
    });
  });
}

/**
 * A frame's messages and their trace ids: a traced sender wraps its batch as
 * `{"ids":[..],"messages":[..]}` (see ws-transport's packFrame); a plain
 * array or a lone message is a frame without ids. An id that is not a
 * positive integer is only ignored: it costs the trace an event, never a message.
 */
export function unpackFrame(parsed: unknown): { list: unknown[]; ids: number[] } {
  if (isEnvelope(parsed))
    return {
      list: parsed.messages,
      ids: parsed.ids.map((id) => (Number.isSafeInteger(id) && (id as number) > 0 ? (id as number) : 0)),
    };
  return { list: Array.isArray(parsed) ? parsed : [parsed], ids: [] };
}

function isEnvelope(x: unknown): x is { ids: unknown[]; messages: unknown[] } {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  return Array.isArray(o.ids) && Array.isArray(o.messages) && o.ids.length === o.messages.length;
}

function admit<M extends { from: number; to: number }>(
  item: unknown,
  node: number,
  ctx: PeerContext<M>,
  traceId = 0,
): void {
  const m = safeValidate(ctx.o.validate, item);
  const selfId = ctx.o.selfId;
  if (m === null || m.from !== node || (selfId !== undefined && selfId > 0 && m.to !== selfId)) {
    ctx.counters.invalid++;
    const why =
      m === null
        ? 'malformed'
        : m.from !== node
          ? `claiming to be from ${nodeName(m.from)}`
          : `addressed to ${nodeName(m.to)}`;
    ctx.warn(`dropped a message from ${nodeName(node)}: ${why}`);
    return;
  }
  ctx.counters.received++;
  ctx.o.onPeerMessage(m, traceId);
}

/** A validator that throws on hostile input (say, absurd nesting) must cost one dropped message, not the process. */
function safeValidate<M>(validate: (x: unknown) => M | null, item: unknown): M | null {
  try {
    return validate(item);
  } catch {
    return null;
  }
}

interface ControlContext {
  readonly counters: WsServerCounters;
  readonly warn: (line: string) => void;
  /** The log without the server-wide rate limit, for callers that limit on their own (per connection). */
  readonly warnRaw?: (line: string) => void;
  /** Called before each frame this connection sends: the turn's frames leave in one socket write (cork.ts). */
  readonly cork: () => void;
}

/** What one control connection has lost of the events pushed to it. */
interface Subscriber {
  dropped: number;
  readonly warn: (line: string) => void;
}

function controlConnection(ws: WebSocket, role: ControlRole, ctx: ControlContext): ControlConnection {
  let handler: ((req: unknown) => Promise<unknown> | unknown) | null = null;
  let inflight = 0;
  const subscriber: Subscriber = { dropped: 0, warn: rateLimitedLog(ctx.warnRaw, PUSH_DROP_LOG_INTERVAL_MS) };
  // Set once the client sends a list of requests: from then on the answers of a turn leave as one list (control-frames.ts).
  let outbox: AnswerOutbox | null = null;
  const answerWith = (body: unknown) => respond(ws, body, ctx, outbox);
  const handle = (item: unknown) => {
    const req = checkRequest(item);
    if (typeof req === 'string') return answerWith({ id: null, error: req });
    if (inflight >= MAX_INFLIGHT_REQUESTS) {
      return answerWith({
        id: req.id,
        error: `too many requests in flight on this connection (${MAX_INFLIGHT_REQUESTS}); wait for answers first`,
      });
    }
    inflight++;
    const answer = (result: unknown) => {
      inflight--;
      answerWith({ ...resultFields(result), id: req.id });
    };
    const refuse = (err: unknown) => {
      inflight--;
      answerWith({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    };
    // Every request is a client's proposal at full load: one promise reaction for an answer that comes later,
    // none for one there already (a chain of four promises per request was a measurable part of the leader's CPU).
    let result: unknown;
    try {
      if (handler === null) throw new Error('this server is not ready for requests yet');
      result = handler(req);
    } catch (err) {
      return refuse(err);
    }
    if (isThenable(result)) result.then(answer, refuse);
    else answer(result);
  };
  ws.on('message', (data: RawData) => {
    let parsed: unknown;
    try {
      parsed = parseFrame(data);
    } catch {
      return answerWith({ id: null, error: 'a request must be JSON' });
    }
    const { list, items } = requestsOf(parsed);
    if (list) outbox ??= new AnswerOutbox(ws, ctx.cork);
    for (const item of items) handle(item);
  });
  return {
    role,
    onRequest: (h) => {
      handler = h;
    },
    push: (event) => {
      outbox?.flush();
      push(ws, event, ctx, subscriber);
    },
    unreadBytes: () => ws.bufferedAmount,
    onClose: (h) => {
      ws.on('close', h);
    },
    close: () => ws.close(),
  };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (
    (typeof x === 'object' || typeof x === 'function') &&
    x !== null &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}

/** A handler's result becomes the fields of the response; a non-object result travels as `result`. */
function resultFields(result: unknown): Record<string, unknown> {
  return typeof result === 'object' && result !== null && !Array.isArray(result)
    ? (result as Record<string, unknown>)
    : { result };
}

/**
 * Sends one event unless the subscriber already has MAX_PUSH_BACKLOG_BYTES
 * unread, in which case the event is dropped, counted, and (rate-limited)
 * logged. Subscribers get fresh status events all the time, so a dropped
 * one is made good by the next that fits.
 */
function push(ws: WebSocket, event: unknown, ctx: ControlContext, subscriber: Subscriber): void {
  if (ws.readyState !== ws.OPEN) return;
  const text = JSON.stringify({ event });
  const unread = ws.bufferedAmount;
  // An event alone larger than the bound still goes to a subscriber that has read everything, or it would never get one.
  if (unread > 0 && unread + Buffer.byteLength(text) > MAX_PUSH_BACKLOG_BYTES) {
    ctx.counters.pushDropped++;
    subscriber.dropped++;
    subscriber.warn(
      `dropping events for a control subscriber that has left ${Math.round(unread / 1024)} KiB unread, ` +
        `the most one subscriber may hold; ${subscriber.dropped} of its events dropped so far`,
    );
    return;
  }
  ctx.cork();
  ws.send(text);
}

/** Responses cannot be dropped like pushes (the client waits for them), so a client that never reads is cut off instead. */
function respond(ws: WebSocket, body: unknown, ctx: ControlContext, outbox: AnswerOutbox | null): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > MAX_RESPONSE_BACKLOG_BYTES) {
    ctx.warn('closed a control connection that stopped reading its answers');
    ws.terminate();
    return;
  }
  if (outbox !== null) return outbox.add(encodeResponse(body));
  ctx.cork();
  ws.send(encodeResponse(body));
}

/** A handler that returns something JSON cannot carry (a cycle, a BigInt) gets an error answer, not an unhandled rejection. */
function encodeResponse(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    const id = (body as { id?: unknown }).id ?? null;
    return JSON.stringify({ id, error: `the answer could not be encoded as JSON: ${(err as Error).message}` });
  }
}
