/**
 * Replica-to-replica links over WebSocket. Each replica dials every peer
 * and sends on that link; it receives on the links its peers dialled. All
 * messages for one peer in one turn of the event loop travel in one frame
 * (a JSON array), which is what lets a busy leader's accepts and a
 * follower's accepteds cost one write each instead of hundreds.
 */
import WebSocket, { type RawData } from 'ws';
import { Random } from '../core/random.js';
import { decide, type FaultRules } from './faults.js';
import { parseFrame, startWsServer, type ControlConnection, type WsServer } from './server.js';
import type { Transport, TransportStats } from './transport.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface WsTransportOptions<M> {
  readonly selfId: number;
  readonly peers: Map<number, PeerAddress>;
  readonly secret: string;
  readonly host?: string;
  readonly listenPort: number;
  /** Peers must authenticate as one of node-1..node-clusterSize. */
  readonly clusterSize: number;
  readonly maxFrameBytes: number;
  readonly validate: (x: unknown) => M | null;
  readonly log?: (line: string) => void;
  readonly seed?: number;
  readonly onControl?: (conn: ControlConnection) => void;
}

/** Frames queued for a peer that is down; beyond this the oldest are dropped (Paxos retransmits). */
const MAX_QUEUED_FRAMES = 1024;
const RECONNECT_MIN_MS = 50;
/** Kept short: a replica that restarts should hear its leader before its election timeout runs out. */
const RECONNECT_MAX_MS = 250;

interface Link {
  address: PeerAddress;
  ws: WebSocket | null;
  open: boolean;
  queue: string[];
  outbox: unknown[];
  backoffMs: number;
  timer: NodeJS.Timeout | null;
}

export class WsTransport<M extends { from: number; to: number }> implements Transport<M> {
  private readonly links = new Map<number, Link>();
  private handler: (m: M) => void = () => undefined;
  private faults: FaultRules = {};
  private readonly random: Random;
  private flushScheduled = false;
  private closed = false;
  private readonly counters = { sent: 0, dropped: 0, bytesOut: 0 };

  constructor(private readonly o: WsTransportOptions<M>, private readonly server: WsServer) {
    this.random = new Random(o.seed ?? 1);
    this.setPeers(o.peers);
  }

  get port(): number {
    return this.server.port;
  }

  /** Peers may be learned late (from the registry) and may move; a moved peer's link is redialled. */
  setPeers(peers: Map<number, PeerAddress>): void {
    for (const [id, address] of peers) {
      if (id === this.o.selfId) continue;
      const link = this.links.get(id);
      if (link !== undefined && link.address.host === address.host && link.address.port === address.port) continue;
      if (link !== undefined) this.drop(link);
      this.links.set(id, { address, ws: null, open: false, queue: [], outbox: [], backoffMs: RECONNECT_MIN_MS, timer: null });
    }
  }

  onMessage(handler: (message: M) => void): void {
    this.handler = handler;
  }

  setFaults(rules: FaultRules): void {
    this.faults = rules;
  }

  send(message: M): void {
    const link = this.links.get(message.to);
    const fate = decide(this.faults, message.from, message.to, () => this.random.next());
    if (link === undefined || !fate.deliver || this.closed) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    if (fate.delayMs > 0) {
      setTimeout(() => this.enqueue(link, message), fate.delayMs).unref();
    } else {
      this.enqueue(link, message);
    }
  }

  private enqueue(link: Link, message: unknown): void {
    link.outbox.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const link of this.links.values()) {
      if (link.outbox.length === 0) continue;
      const batch = link.outbox;
      link.outbox = [];
      for (const frame of this.frames(batch)) this.write(link, frame);
    }
  }

  /** Packs messages into frames well under the peer's frame limit. */
  private frames(batch: unknown[]): string[] {
    const budget = this.o.maxFrameBytes / 2;
    const frames: string[] = [];
    let parts: string[] = [];
    let size = 2;
    for (const m of batch) {
      const text = JSON.stringify(m);
      if (parts.length > 0 && size + text.length + 1 > budget) {
        frames.push(`[${parts.join(',')}]`);
        parts = [];
        size = 2;
      }
      parts.push(text);
      size += text.length + 1;
    }
    if (parts.length > 0) frames.push(`[${parts.join(',')}]`);
    return frames;
  }

  private write(link: Link, frame: string): void {
    if (link.open && link.ws !== null) {
      this.counters.bytesOut += frame.length;
      link.ws.send(frame);
      return;
    }
    link.queue.push(frame);
    if (link.queue.length > MAX_QUEUED_FRAMES) {
      link.queue.shift();
      this.counters.dropped++;
    }
    this.dial(link);
  }

  private dial(link: Link): void {
    if (link.ws !== null || link.timer !== null || this.closed) return;
    const { host, port } = link.address;
    const ws = new WebSocket(`ws://${host}:${port}/peer`, {
      headers: { authorization: `Bearer ${this.o.secret}`, 'x-paxos-node': String(this.o.selfId) },
      maxPayload: this.o.maxFrameBytes, perMessageDeflate: false, handshakeTimeout: 2000,
    });
    link.ws = ws;
    ws.on('error', () => undefined); // 'close' follows and handles the retry.
    ws.on('open', () => {
      link.open = true;
      link.backoffMs = RECONNECT_MIN_MS;
      const queued = link.queue;
      link.queue = [];
      for (const frame of queued) this.write(link, frame);
    });
    ws.on('close', () => {
      if (link.ws !== ws) return;
      link.ws = null;
      link.open = false;
      this.retryLater(link);
    });
  }

  private retryLater(link: Link): void {
    if (this.closed || link.timer !== null) return;
    link.timer = setTimeout(() => {
      link.timer = null;
      if (link.queue.length > 0) this.dial(link);
    }, link.backoffMs);
    link.timer.unref();
    link.backoffMs = Math.min(RECONNECT_MAX_MS, link.backoffMs * 2);
  }

  private drop(link: Link): void {
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    link.ws?.terminate();
    link.ws = null;
    link.open = false;
  }

  deliver(m: M): void {
    this.handler(m);
  }

  stats(): TransportStats {
    const c = this.server.counters;
    return { sent: this.counters.sent, dropped: this.counters.dropped, bytesOut: this.counters.bytesOut, received: c.received, invalid: c.invalid, bytesIn: c.bytesIn };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) this.drop(link);
    await this.server.close();
  }
}

export async function createWsTransport<M extends { from: number; to: number }>(o: WsTransportOptions<M>): Promise<WsTransport<M>> {
  let transport: WsTransport<M> | null = null;
  const server = await startWsServer<M>({
    host: o.host ?? '127.0.0.1', port: o.listenPort, secret: o.secret, clusterSize: o.clusterSize, selfId: o.selfId,
    maxFrameBytes: o.maxFrameBytes, validate: o.validate, onPeerMessage: (m) => transport?.deliver(m),
    ...(o.log ? { log: o.log } : {}), ...(o.onControl ? { onControl: o.onControl } : {}),
  });
  transport = new WsTransport(o, server);
  return transport;
}

// ------------------------------------------------------------ control client

export interface ControlClient {
  request(body: Record<string, unknown>, timeoutMs: number): Promise<unknown>;
  onEvent(handler: (event: unknown) => void): void;
  onClose(handler: () => void): void;
  close(): void;
}

/** The CLI's and the orchestrator's side of a /control connection. */
export function connectControl(o: { host: string; port: number; secret: string; timeoutMs: number }): Promise<ControlClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${o.host}:${o.port}/control`, {
      headers: { authorization: `Bearer ${o.secret}` }, handshakeTimeout: o.timeoutMs, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024,
    });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
    const eventHandlers: ((e: unknown) => void)[] = [];
    const closeHandlers: (() => void)[] = [];
    let seq = 0;
    let opened = false;
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (!opened) reject(new Error(err.code === 'ECONNREFUSED' ? `connection refused at ${o.host}:${o.port}` : err.message));
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`refused by ${o.host}:${o.port} (HTTP ${res.statusCode})`));
      ws.terminate();
    });
    ws.on('close', () => {
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error('the connection closed before an answer came'));
      }
      pending.clear();
      for (const h of closeHandlers) h();
    });
    ws.on('message', (data: RawData) => {
      let msg: { id?: number; error?: string; event?: unknown };
      try {
        msg = parseFrame(data) as typeof msg;
      } catch {
        return;
      }
      if (msg.event !== undefined && msg.id === undefined) {
        for (const h of eventHandlers) h(msg.event);
        return;
      }
      const p = msg.id === undefined ? undefined : pending.get(msg.id);
      if (p === undefined) return;
      pending.delete(msg.id!);
      clearTimeout(p.timer);
      if (typeof msg.error === 'string') p.reject(new Error(msg.error));
      else p.resolve(msg);
    });
    ws.on('open', () => {
      opened = true;
      resolve({
        request: (body, timeoutMs) => new Promise((res, rej) => {
          if (ws.readyState !== ws.OPEN) return rej(new Error('the connection is closed'));
          const id = ++seq;
          const timer = setTimeout(() => {
            pending.delete(id);
            rej(new Error(`timed out after ${timeoutMs} ms`));
          }, timeoutMs);
          pending.set(id, { resolve: res, reject: rej, timer });
          ws.send(JSON.stringify({ ...body, id }));
        }),
        onEvent: (h) => { eventHandlers.push(h); },
        onClose: (h) => { closeHandlers.push(h); },
        close: () => ws.close(),
      });
    });
  });
}
