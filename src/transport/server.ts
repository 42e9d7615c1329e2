/**
 * The WebSocket server of a replica (or of the orchestrator): peers on
 * /peer, the CLI and orchestrator on /control. Every frame from the network
 * is parsed and validated before anything uses it; a bad one is counted,
 * logged (rate-limited, so a flood cannot fill the log) and dropped.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { checkUpgrade } from './auth.js';

export interface ControlConnection {
  onRequest(handler: (req: unknown) => Promise<unknown> | unknown): void;
  push(event: unknown): void;
  onClose(handler: () => void): void;
  close(): void;
}

export interface WsServerOptions<M> {
  readonly host?: string;
  readonly port: number;
  readonly secret: string;
  readonly clusterSize: number;
  /** The node this server belongs to (0 for the orchestrator): peer frames must be addressed to it. */
  readonly selfId?: number;
  readonly maxFrameBytes: number;
  readonly validate: (x: unknown) => M | null;
  readonly onPeerMessage: (m: M) => void;
  readonly onControl?: (conn: ControlConnection) => void;
  readonly log?: (line: string) => void;
}

export interface WsServer {
  readonly port: number;
  readonly counters: { received: number; invalid: number; bytesIn: number; pushDropped: number };
  close(): Promise<void>;
}

/** Bytes a slow control client may have queued before pushes to it are dropped. */
const MAX_PUSH_BACKLOG_BYTES = 4 * 1024 * 1024;

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
  socket.destroy();
}

/** Logs the first bad frame and then at most one summary line a second. */
function rateLimitedLog(log: ((line: string) => void) | undefined): (line: string) => void {
  let lastMs = 0;
  let suppressed = 0;
  return (line) => {
    const now = Date.now();
    if (now - lastMs < 1000) {
      suppressed++;
      return;
    }
    log?.(suppressed > 0 ? `${line} (and ${suppressed} more dropped since)` : line);
    lastMs = now;
    suppressed = 0;
  };
}

export function parseFrame(data: RawData): unknown {
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  return JSON.parse(text);
}

export async function startWsServer<M extends { from: number; to: number }>(o: WsServerOptions<M>): Promise<WsServer> {
  const host = o.host ?? '127.0.0.1';
  const http = createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n'));
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false });
  const counters = { received: 0, invalid: 0, bytesIn: 0, pushDropped: 0 };
  const warn = rateLimitedLog(o.log);
  let port = o.port;
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const verdict = checkUpgrade(req, { secret: o.secret, host, port, clusterSize: o.clusterSize });
    if (!verdict.ok) {
      warn(`refused a connection from ${req.socket.remoteAddress}: ${verdict.reason}`);
      return refuse(socket, verdict.status, verdict.reason);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (err) => warn(`connection error: ${err.message}`));
      if (verdict.kind === 'peer') acceptPeer(ws, verdict.node, o, counters, warn);
      else if (o.onControl) o.onControl(controlConnection(ws, counters));
      else ws.close(1008, 'no control here');
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ host, port: o.port, exclusive: true }, () => resolve());
  });
  const address = http.address();
  port = typeof address === 'object' && address !== null ? address.port : o.port;
  return {
    port,
    counters,
    close: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.close(() => resolve());
      http.closeAllConnections?.();
    }),
  };
}

function acceptPeer<M extends { from: number; to: number }>(
  ws: WebSocket, node: number, o: WsServerOptions<M>, counters: WsServer['counters'], warn: (line: string) => void,
): void {
  ws.on('message', (data: RawData) => {
    counters.bytesIn += Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).length;
    let parsed: unknown;
    try {
      parsed = parseFrame(data);
    } catch {
      counters.invalid++;
      return warn(`dropped a frame from node-${node} that is not JSON`);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const item of list) {
      const m = o.validate(item);
      if (m === null || m.from !== node || (o.selfId !== undefined && m.to !== o.selfId)) {
        counters.invalid++;
        warn(`dropped a malformed or misaddressed message from node-${node}`);
        continue;
      }
      counters.received++;
      o.onPeerMessage(m);
    }
  });
}

function controlConnection(ws: WebSocket, counters: WsServer['counters']): ControlConnection {
  let handler: ((req: unknown) => Promise<unknown> | unknown) | null = null;
  ws.on('message', (data: RawData) => {
    let req: { id?: unknown };
    try {
      req = parseFrame(data) as { id?: unknown };
    } catch {
      return ws.send(JSON.stringify({ id: null, error: 'a request must be JSON' }));
    }
    if (typeof req !== 'object' || req === null || (typeof req.id !== 'number' && typeof req.id !== 'string')) {
      return ws.send(JSON.stringify({ id: null, error: 'a request needs an id' }));
    }
    const id = req.id;
    Promise.resolve()
      .then(() => (handler ? handler(req) : Promise.reject(new Error('not ready'))))
      .then(
        (result) => send(ws, { ...(typeof result === 'object' && result !== null ? result : { result }), id }),
        (err: Error) => send(ws, { id, error: err.message }),
      );
  });
  return {
    onRequest: (h) => { handler = h; },
    push: (event) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_PUSH_BACKLOG_BYTES) {
        counters.pushDropped++;
        return;
      }
      ws.send(JSON.stringify({ event }));
    },
    onClose: (h) => { ws.on('close', h); },
    close: () => ws.close(),
  };
}

function send(ws: WebSocket, body: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
}
