/**
 * Replica-to-replica links over WebSocket. Each replica dials every peer
 * and sends on that link; it receives on the links its peers dialled. All
 * messages for one peer in one turn of the event loop travel in one frame
 * (a JSON array), which is what lets a busy leader's accepts and a
 * follower's accepteds cost one write each instead of hundreds.
 *
 * Everything a link holds is bounded: frames waiting for a peer that is
 * down, bytes the socket has not yet written to a peer that stopped reading,
 * and messages parked by a delay rule. Beyond a bound messages are dropped
 * and counted; Paxos retransmits what matters.
 */
import WebSocket from 'ws';
import { Random } from '../core/random.js';
import { canTalk, decide, type FaultRules } from './faults.js';
import { rateLimitedLog, startWsServer, type ControlConnection, type WsServer } from './server.js';
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
/** Bytes queued for a peer that is down, and bytes a connected peer may leave unread, at least. */
const MIN_LINK_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Messages parked in timers by a delay rule at once; more are dropped. */
const MAX_DELAYED_MESSAGES = 100_000;
const RECONNECT_MIN_MS = 50;
/** Kept short: a replica that restarts should hear its leader before its election timeout runs out. */
const RECONNECT_MAX_MS = 250;

interface Frame {
  readonly text: string;
  readonly bytes: number;
  /** Messages packed in it, so a dropped frame counts every message it carried. */
  readonly count: number;
}

interface Link {
  readonly id: number;
  address: PeerAddress;
  ws: WebSocket | null;
  open: boolean;
  /** Frames waiting for the link to open. */
  queue: Frame[];
  queuedBytes: number;
  /** Messages sent this turn, packed into frames at the flush. */
  outbox: unknown[];
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  /** The last dial failure logged, so a peer that stays down costs one log line, not one per retry. */
  problem: string | null;
}

export class WsTransport<M extends { from: number; to: number }> implements Transport<M> {
  private readonly links = new Map<number, Link>();
  private handler: (m: M) => void = () => undefined;
  private faults: FaultRules = {};
  private readonly random: Random;
  private flushScheduled = false;
  private closed = false;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly counters = { sent: 0, dropped: 0, bytesOut: 0 };
  private readonly backlogBytes: number;
  private readonly warnOversized: (line: string) => void;

  constructor(private readonly o: WsTransportOptions<M>, private readonly server: WsServer) {
    this.random = new Random(o.seed ?? 1);
    this.backlogBytes = Math.max(MIN_LINK_BACKLOG_BYTES, o.maxFrameBytes);
    this.warnOversized = rateLimitedLog(o.log, 10_000);
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
      if (link !== undefined) this.hangUp(link);
      this.links.set(id, {
        id, address, ws: null, open: false, queue: [], queuedBytes: 0, outbox: [], backoffMs: RECONNECT_MIN_MS, timer: null, problem: null,
      });
    }
  }

  onMessage(handler: (message: M) => void): void {
    this.handler = handler;
  }

  setFaults(rules: FaultRules): void {
    this.faults = rules;
  }

  send(message: M): void {
    const fate = decide(this.faults, message.from, message.to, () => this.random.next());
    if (!this.links.has(message.to) || !fate.deliver || this.closed) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    if (fate.delayMs > 0) this.sendLater(message, fate.delayMs);
    else this.enqueue(message);
  }

  /** A delayed message goes on the peer's link as it is when the delay ends, and not at all if a partition came up meanwhile. */
  private sendLater(message: M, delayMs: number): void {
    if (this.delayed.size >= MAX_DELAYED_MESSAGES) {
      this.counters.dropped++;
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      if (canTalk(this.faults, message.from, message.to)) this.enqueue(message);
      else this.counters.dropped++;
    }, delayMs);
    timer.unref();
    this.delayed.add(timer);
  }

  private enqueue(message: M): void {
    const link = this.links.get(message.to);
    if (link === undefined || this.closed) {
      this.counters.dropped++;
      return;
    }
    link.outbox.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every peer's queued messages now; the scheduled flush, if any, then finds nothing left to do. */
  flush(): void {
    this.flushScheduled = false;
    for (const link of this.links.values()) {
      if (link.outbox.length === 0) continue;
      const batch = link.outbox;
      link.outbox = [];
      for (const frame of this.frames(link, batch)) this.write(link, frame);
    }
  }

  /**
   * Packs messages into frames of at most half the peer's frame limit (in
   * bytes, not characters: a value in Chinese is three bytes a character).
   * A message that alone would exceed the limit would only make the peer
   * close the link, again on every retransmission, so it is dropped here.
   */
  private frames(link: Link, batch: unknown[]): Frame[] {
    const budget = Math.floor(this.o.maxFrameBytes / 2);
    const frames: Frame[] = [];
    let parts: string[] = [];
    let size = 2;
    const cut = () => {
      if (parts.length > 0) frames.push({ text: `[${parts.join(',')}]`, bytes: size + parts.length - 1, count: parts.length });
      parts = [];
      size = 2;
    };
    for (const m of batch) {
      const text = JSON.stringify(m);
      const bytes = Buffer.byteLength(text);
      if (bytes + 2 > this.o.maxFrameBytes) {
        this.counters.dropped++;
        this.warnOversized(`dropped a ${bytes}-byte message to node-${link.id}: larger than the ${this.o.maxFrameBytes}-byte frame limit`);
        continue;
      }
      if (parts.length > 0 && size + parts.length + bytes > budget) cut();
      parts.push(text);
      size += bytes;
    }
    cut();
    return frames;
  }

  private write(link: Link, frame: Frame): void {
    // A socket the peer is closing drops what it is given; such frames wait in the queue for the redial instead.
    if (link.open && link.ws !== null && link.ws.readyState === WebSocket.OPEN) {
      // A peer that is alive but not reading (stopped, swamped) must not make us buffer without end.
      if (link.ws.bufferedAmount > this.backlogBytes) {
        this.counters.dropped += frame.count;
        return;
      }
      this.counters.bytesOut += frame.bytes;
      link.ws.send(frame.text);
      return;
    }
    link.queue.push(frame);
    link.queuedBytes += frame.bytes;
    while (link.queue.length > 1 && (link.queue.length > MAX_QUEUED_FRAMES || link.queuedBytes > this.backlogBytes)) {
      const oldest = link.queue.shift()!;
      link.queuedBytes -= oldest.bytes;
      this.counters.dropped += oldest.count;
    }
    this.dial(link);
  }

  /** At most one dial per peer is in flight: a connecting socket or a pending retry timer blocks another. */
  private dial(link: Link): void {
    if (link.ws !== null || link.timer !== null || this.closed) return;
    const { host, port } = link.address;
    const ws = new WebSocket(`ws://${host}:${port}/peer`, {
      headers: { authorization: `Bearer ${this.o.secret}`, 'x-paxos-node': String(this.o.selfId) },
      maxPayload: this.o.maxFrameBytes, perMessageDeflate: false, handshakeTimeout: 2000,
    });
    link.ws = ws;
    // 'close' always follows an error and schedules the retry; the error itself is logged once per distinct cause.
    ws.on('error', (err: NodeJS.ErrnoException) => this.noteProblem(link, dialProblem(err)));
    ws.on('open', () => this.onOpen(link));
    ws.on('close', () => {
      if (link.ws !== ws) return;
      link.ws = null;
      link.open = false;
      this.retryLater(link);
    });
  }

  private onOpen(link: Link): void {
    link.open = true;
    link.backoffMs = RECONNECT_MIN_MS;
    if (link.problem !== null) this.o.log?.(`reached node-${link.id} at ${link.address.host}:${link.address.port} again`);
    link.problem = null;
    const queued = link.queue;
    link.queue = [];
    link.queuedBytes = 0;
    for (const frame of queued) this.write(link, frame);
  }

  private noteProblem(link: Link, problem: string): void {
    if (problem === link.problem) return;
    link.problem = problem;
    this.o.log?.(`cannot reach node-${link.id} at ${link.address.host}:${link.address.port}: ${problem}; retrying while there is something to send`);
  }

  /** Capped exponential backoff; an idle link is not redialled until something is sent on it. */
  private retryLater(link: Link): void {
    if (this.closed || link.timer !== null) return;
    link.timer = setTimeout(() => {
      link.timer = null;
      if (link.queue.length > 0 && this.links.get(link.id) === link) this.dial(link);
    }, link.backoffMs);
    link.timer.unref();
    link.backoffMs = Math.min(RECONNECT_MAX_MS, link.backoffMs * 2);
  }

  private hangUp(link: Link): void {
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    link.ws?.terminate();
    link.ws = null;
    link.open = false;
  }

  /** Called by the server for every validated inbound message; the partition is enforced on this end too. */
  deliver(m: M): void {
    if (this.closed) return;
    if (!canTalk(this.faults, m.from, m.to)) {
      this.counters.dropped++;
      return;
    }
    this.handler(m);
  }

  stats(): TransportStats {
    const c = this.server.counters;
    return { sent: this.counters.sent, dropped: this.counters.dropped, bytesOut: this.counters.bytesOut, received: c.received, invalid: c.invalid, bytesIn: c.bytesIn };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    for (const link of this.links.values()) this.hangUp(link);
    await this.server.close();
  }
}

function dialProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  const status = /Unexpected server response: (\d+)/.exec(err.message);
  if (status !== null) return status[1] === '401' ? 'it refused our cluster secret (HTTP 401)' : `it refused the connection (HTTP ${status[1]})`;
  return err.message;
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

// The control client lives in its own module; callers have always imported it from here.
export { connectControl, ControlConnectError, type ControlClient, type ControlClientOptions } from './control-client.js';
