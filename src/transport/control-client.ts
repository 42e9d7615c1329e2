/**
 * The client side of a /control connection, used by the CLI, the
 * orchestrator and the benchmark: JSON requests `{id, ...}` answered by
 * `{id, ...result}` or `{id, error}`, and `{event}` frames pushed by the
 * server at any time.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { OperatingError } from '../errors.js';
import { BATCH_HEADER } from './control-frames.js';
import { corkForTurn } from './cork.js';
import { parseFrame } from './frame-text.js';
import { type ClientTls, checkServerNode, tlsProblem } from './tls.js';

/** Where the server listens: a TCP address, or a unix socket (the orchestrator's, gated by the file's mode). */
export type ControlAddress =
  | { readonly host: string; readonly port: number; readonly socketPath?: undefined }
  | { readonly socketPath: string };

export type ControlClientOptions = ControlAddress & {
  readonly secret: string;
  /** For the connection to open, handshake included. */
  readonly timeoutMs: number;
  /** What to call the other end in errors (`node-2`); without it errors name only the address. */
  readonly name?: string;
  /** The largest frame accepted from the server. */
  readonly maxFrameBytes?: number;
  /**
   * wss:// to a replica on another host: its certificate must chain to
   * `tls.ca` and name `node` (tls.ts); the client presents its own
   * certificate when it has one (required under --client-cert-auth).
   */
  readonly tls?: ClientTls & { readonly node: number };
};

export interface ControlClient {
  /** Resolves with the whole response (including `id`); rejects with the server's error sentence, a timeout, or a lost connection. */
  request(body: Record<string, unknown>, timeoutMs: number): Promise<unknown>;
  onEvent(handler: (event: unknown) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

/** The connection could not be opened: refused, unanswered, or turned away at the handshake. */
export class ControlConnectError extends OperatingError {
  constructor(
    readonly reason: string,
    readonly address: string,
    readonly peerName?: string,
  ) {
    super(peerName === undefined ? `${reason} at ${address}` : `cannot reach ${peerName} at ${address}: ${reason}`);
  }
}

const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** A refusal's reason is one line; more than this is not worth reading. */
const MAX_REFUSAL_BYTES = 512;

export async function connectControl(o: ControlClientOptions): Promise<ControlClient> {
  const { ws, socket, lists } = await open(o);
  return client(ws, corkForTurn(socket), lists);
}

function open(o: ControlClientOptions): Promise<{ ws: WebSocket; socket: Duplex; lists: boolean }> {
  const address =
    o.socketPath !== undefined ? o.socketPath : `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
  const url =
    o.socketPath !== undefined
      ? `ws+unix://${o.socketPath}:/control`
      : `${o.tls === undefined ? 'ws' : 'wss'}://${address}/control`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      reject(new ControlConnectError(reason, address, o.name));
      ws.terminate();
    };
    const tls = o.tls;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${o.secret}` },
      ...(tls !== undefined
        ? {
            ca: tls.ca,
            ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
            checkServerIdentity: checkServerNode(tls.clusterId, tls.node),
          }
        : {}),
      handshakeTimeout: o.timeoutMs,
      perMessageDeflate: false,
      maxPayload: o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
    ws.on('error', (err: NodeJS.ErrnoException) => fail(connectProblem(err, o.timeoutMs)));
    ws.on('unexpected-response', (_req, res) => readRefusal(res, (reason) => fail(reason)));
    ws.on('close', () => fail('the connection closed during the handshake'));
    let socket: Duplex | null = null;
    let lists = false;
    ws.once('upgrade', (res: IncomingMessage) => {
      socket = res.socket;
      lists = res.headers[BATCH_HEADER] === '1';
    });
    ws.once('open', () => {
      if (socket === null) return fail('the connection opened without its socket');
      if (settled) return;
      settled = true;
      resolve({ ws, socket, lists });
    });
  });
}

function connectProblem(err: NodeJS.ErrnoException, timeoutMs: number): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'the connection was reset';
  if (err.code === 'ENOTFOUND') return 'no such host';
  // A unix socket: gone (the orchestrator exited) or not ours to open (another user's).
  if (err.code === 'ENOENT') return 'no such socket';
  if (err.code === 'EACCES') return 'permission denied';
  const tls = tlsProblem(err);
  if (tls !== null) return tls;
  if (/handshake has timed out/i.test(err.message)) return `no answer within ${timeoutMs} ms`;
  return err.message;
}

/** The server's one-line reason for a refusal, e.g. "refused: missing or wrong cluster secret (HTTP 401)". */
function readRefusal(res: IncomingMessage, done: (reason: string) => void): void {
  let body = '';
  const finish = () => {
    const line = body.split('\n')[0].trim();
    done(`refused${line === '' ? '' : `: ${line}`} (HTTP ${res.statusCode})`);
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    body += chunk;
    if (body.length >= MAX_REFUSAL_BYTES) res.destroy();
  });
  res.on('end', finish);
  res.on('close', finish);
  res.on('error', finish);
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** `lists`: the server reads a list of requests in one frame (control-frames.ts), so each turn's requests leave as one. */
function client(ws: WebSocket, cork: () => void, lists: boolean): ControlClient {
  const pending = new Map<number, Pending>();
  const send = lists
    ? turnSender(ws, cork)
    : (text: string) => {
        cork();
        ws.send(text);
      };
  const eventHandlers: ((e: unknown) => void)[] = [];
  const closeHandlers: (() => void)[] = [];
  let seq = 0;
  ws.on('error', () => undefined); // 'close' follows and fails whatever is pending.
  ws.on('close', () => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new OperatingError('the connection closed before an answer came'));
    }
    pending.clear();
    for (const h of closeHandlers) h();
  });
  ws.on('message', (data: RawData) => onFrame(data, pending, eventHandlers));
  return {
    request: (body, timeoutMs) =>
      new Promise((resolve, reject) => {
        if (ws.readyState !== ws.OPEN) return reject(new OperatingError('the connection is closed'));
        const id = ++seq;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new OperatingError(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        send(JSON.stringify({ ...body, id }));
      }),
    onEvent: (h) => {
      eventHandlers.push(h);
    },
    onClose: (h) => {
      closeHandlers.push(h);
    },
    close: () => ws.close(),
  };
}

/** A frame the client cannot make sense of is ignored: the request it might answer times out with a clear sentence. */
function onFrame(data: RawData, pending: Map<number, Pending>, eventHandlers: ((e: unknown) => void)[]): void {
  let msg: unknown;
  try {
    msg = parseFrame(data);
  } catch {
    return;
  }
  // A server that read a list of requests answers a turn's worth in one list.
  if (Array.isArray(msg)) for (const one of msg) onMessage(one, pending, eventHandlers);
  else onMessage(msg, pending, eventHandlers);
}

/** Requests sent in one turn leave as one frame at its end, a list when there are several. */
function turnSender(ws: WebSocket, cork: () => void): (text: string) => void {
  let texts: string[] = [];
  const flush = () => {
    const batch = texts;
    texts = [];
    if (ws.readyState !== ws.OPEN) return; // 'close' fails what is pending.
    cork();
    ws.send(batch.length === 1 ? batch[0] : `[${batch.join(',')}]`);
  };
  return (text) => {
    texts.push(text);
    if (texts.length === 1) process.nextTick(flush);
  };
}

function onMessage(msg: unknown, pending: Map<number, Pending>, eventHandlers: ((e: unknown) => void)[]): void {
  if (typeof msg !== 'object' || msg === null) return;
  const { id, error, event } = msg as { id?: unknown; error?: unknown; event?: unknown };
  if (id === undefined) {
    if (event !== undefined) for (const h of eventHandlers) h(event);
    return;
  }
  const p = typeof id === 'number' ? pending.get(id) : undefined;
  if (p === undefined) return;
  pending.delete(id as number);
  clearTimeout(p.timer);
  if (typeof error === 'string') p.reject(new OperatingError(error));
  else p.resolve(msg);
}
