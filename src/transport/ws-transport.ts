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
import { type ControlConnection, rateLimitedLog, startWsServer, type WsServer } from './server.js';
import { checkServerNode, type ServerTls, tlsProblem } from './tls.js';
import type { Transport, TransportStats } from './transport.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface WsTransportOptions<M> {
  readonly selfId: number;
  readonly peers: Map<number, PeerAddress>;
  readonly secret: string;
  /** Separate /control tokens (server.ts, auth.ts); absent, `secret` opens /control with every right. */
  readonly adminSecret?: string;
  readonly clientSecret?: string;
  readonly host?: string;
  readonly listenPort: number;
  /** The bootstrap size; peers authenticate as any node-1..node-MAX_NODE_ID (replicas join with ids beyond it). */
  readonly clusterSize: number;
  readonly maxFrameBytes: number;
  readonly validate: (x: unknown) => M | null;
  readonly log?: (line: string) => void;
  readonly seed?: number;
  readonly onControl?: (conn: ControlConnection) => void;
  /** Overrides MAX_LINK_BACKLOG_BYTES (never below two frames), for tests that want to reach the bound quickly. */
  readonly maxLinkBacklogBytes?: number;
  /** `paxos up --trace`: records what this replica sends, receives and drops on purpose; absent, frames are as they always were. */
  readonly trace?: TransportTrace<M>;
  /** Off loopback: what this replica advertises and the `--allowed-host` names, accepted as Host headers (host-policy.ts). */
  readonly advertised?: PeerAddress;
  readonly allowedHosts?: readonly string[];
  /**
   * The handshake: this replica's cluster id and incarnation travel on every
   * link it dials, and a peer naming another cluster, or coming back at a
   * lower incarnation than seen before, is refused (auth.ts) when `checkHandshake` is set (a replica on its own host;
   * lab mode's replicas send both and check neither, as before). Absent, neither is sent.
   */
  readonly clusterId?: string;
  readonly incarnation?: number;
  readonly checkHandshake?: boolean;
  /** GET /livez and /readyz for a supervisor (server.ts); absent, none. */
  readonly probes?: { readonly ready: () => boolean };
  /**
   * wss:// both ways (`paxos replica --cert-file`): this replica serves its
   * certificate, presents it when it dials, and checks that every peer's
   * names the node it is (tls.ts). Absent, ws:// as in lab mode.
   */
  readonly tls?: ServerTls;
}

/**
 * The transport's hooks into a live trace. `sent` gives a message the id
 * that travels with it in the frame's envelope (0: not traced), so the
 * receiver's `delivered` can name the same message.
 */
export interface TransportTrace<M> {
  sent(message: M): number;
  delivered(id: number, message: M): void;
  dropped(id: number, why: string): void;
}

/** The transport's counters plus the breakdown of drops that only a real network link has. */
export interface WsTransportStats extends TransportStats {
  /** Messages dropped because their peer already held its whole backlog unsent (down, or connected but not reading). */
  readonly droppedBacklog: number;
}

/** What one peer's link holds right now, for tests and diagnostics. */
export interface LinkBacklog {
  /** Whether the link is connected and writing straight to the peer. */
  readonly open: boolean;
  /** Frames waiting for the link to (re)open. */
  readonly queuedFrames: number;
  readonly queuedBytes: number;
  /** Bytes handed to the socket and not yet taken by the peer. */
  readonly bufferedBytes: number;
}

/** Frames queued for a peer that is down; beyond this the oldest are dropped (Paxos retransmits). */
const MAX_QUEUED_FRAMES = 1024;
/**
 * Bytes one peer's link may hold unsent: frames queued while the peer is
 * down, or frames written to a socket the peer is not reading (the socket's
 * `bufferedAmount`). A replica's frame is at most MAX_FRAME_BYTES, about
 * 32 MiB (a full batch of 256 of the largest values), so 64 MiB holds two
 * full frames: a peer that is only slow for a moment loses nothing, while a
 * peer that stopped reading costs this replica at most 64 MiB, under 1 GiB
 * even with the 14 peers of the largest cluster.
 */
export const MAX_LINK_BACKLOG_BYTES = 64 * 1024 * 1024;
/** Messages sent to one peer in one turn before they are flushed early, so the per-turn outbox stays bounded too. */
const MAX_OUTBOX_MESSAGES = 4096;
/** Messages parked in timers by a delay rule at once; more are dropped. */
const MAX_DELAYED_MESSAGES = 100_000;
/** How often a link that keeps dropping says so in the log: once is news, once a message would flood it. */
const DROP_LOG_INTERVAL_MS = 10_000;
const RECONNECT_MIN_MS = 50;
/** Kept short: a replica that restarts should hear its leader before its election timeout runs out. */
const RECONNECT_MAX_MS = 250;

interface Frame {
  readonly text: string;
  readonly bytes: number;
  /** Messages packed in it, so a dropped frame counts every message it carried. */
  readonly count: number;
}

interface Outgoing {
  readonly message: unknown;
  readonly traceId: number;
}

interface Link {
  readonly id: number;
  address: PeerAddress;
  ws: WebSocket | null;
  open: boolean;
  /** Frames waiting for the link to open. */
  queue: Frame[];
  queuedBytes: number;
  /** Messages sent this turn, packed into frames at the flush, each with its trace id (0: untraced). */
  outbox: Outgoing[];
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  /** The last dial failure logged, so a peer that stays down costs one log line, not one per retry. */
  problem: string | null;
  /** Logs this link's drops for a full backlog, at most once per DROP_LOG_INTERVAL_MS. */
  warnDrop: (line: string) => void;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class WsTransport<M extends { from: number; to: number }> implements Transport<M> {
  private readonly links = new Map<number, Link>();
  private handler: (m: M) => void = () => undefined;
  private faults: FaultRules = {};
  private readonly random: Random;
  private flushScheduled = false;
  private closed = false;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly counters = { sent: 0, dropped: 0, droppedBacklog: 0, bytesOut: 0 };
  private readonly backlogBytes: number;
  private readonly warnOversized: (line: string) => void;
  private readonly warnDelayed: (line: string) => void;

  constructor(
    private readonly o: WsTransportOptions<M>,
    private readonly server: WsServer,
  ) {
    this.random = new Random(o.seed ?? 1);
    // Two frames at least, so that one full frame always fits on a link that has caught up.
    this.backlogBytes = Math.max(o.maxLinkBacklogBytes ?? MAX_LINK_BACKLOG_BYTES, 2 * o.maxFrameBytes);
    this.warnOversized = rateLimitedLog(o.log, DROP_LOG_INTERVAL_MS);
    this.warnDelayed = rateLimitedLog(o.log, DROP_LOG_INTERVAL_MS);
    this.setPeers(o.peers);
  }

  get port(): number {
    return this.server.port;
  }

  /**
   * Peers may be learned late (from the registry) and may move; a moved
   * peer's link is redialled. The table is the whole set of members: a peer
   * missing from it was removed from the cluster, and its link is closed.
   */
  setPeers(peers: Map<number, PeerAddress>): void {
    for (const [id, link] of this.links) {
      if (peers.has(id)) continue;
      this.hangUp(link);
      this.links.delete(id);
    }
    for (const [id, address] of peers) {
      if (id === this.o.selfId) continue;
      const link = this.links.get(id);
      if (link !== undefined && link.address.host === address.host && link.address.port === address.port) continue;
      if (link !== undefined) this.hangUp(link);
      this.links.set(id, this.newLink(id, address, link));
    }
  }

  private newLink(id: number, address: PeerAddress, previous: Link | undefined): Link {
    return {
      id,
      address,
      ws: null,
      open: false,
      queue: [],
      queuedBytes: 0,
      outbox: [],
      backoffMs: RECONNECT_MIN_MS,
      timer: null,
      problem: null,
      warnDrop: previous?.warnDrop ?? rateLimitedLog(this.o.log, DROP_LOG_INTERVAL_MS),
    };
  }

  /**
   * A peer that dialled in, with the secret and this cluster's id, told us
   * where it listens: a member added after this replica started (its
   * address is in no flag or file this replica read) becomes reachable.
   * A known peer's address is never changed this way: flags and files win.
   */
  learnPeer(id: number, address: PeerAddress): void {
    if (id === this.o.selfId || this.links.has(id) || this.closed) return;
    this.links.set(id, this.newLink(id, address, undefined));
    this.o.log?.(`learned ${nodeName(id)}'s address ${address.host}:${address.port} from its handshake`);
  }

  onMessage(handler: (message: M) => void): void {
    this.handler = handler;
  }

  setFaults(rules: FaultRules): void {
    this.faults = rules;
  }

  send(message: M): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    const traceId = this.o.trace?.sent(message) ?? 0;
    const fate = decide(this.faults, message.from, message.to, () => this.random.next());
    if (!this.links.has(message.to) || !fate.deliver) {
      this.counters.dropped++;
      if (traceId > 0) this.o.trace?.dropped(traceId, this.whyDropped(message));
      return;
    }
    this.counters.sent++;
    if (fate.delayMs > 0) this.sendLater({ message, traceId }, message, fate.delayMs);
    else this.enqueue({ message, traceId }, message.to);
  }

  /** The drop event's reason, in the simulator's words where they are the same. */
  private whyDropped(message: M): string {
    if (!this.links.has(message.to)) return `no address for ${nodeName(message.to)} yet`;
    return canTalk(this.faults, message.from, message.to) ? 'network loss' : 'partition cut';
  }

  /** A delayed message goes on the peer's link as it is when the delay ends, and not at all if a partition came up meanwhile. */
  private sendLater(out: Outgoing, message: M, delayMs: number): void {
    if (this.delayed.size >= MAX_DELAYED_MESSAGES) {
      this.counters.dropped++;
      if (out.traceId > 0) this.o.trace?.dropped(out.traceId, 'delay queue full');
      this.warnDelayed(
        `dropped a delayed message to ${nodeName(message.to)}: ${MAX_DELAYED_MESSAGES} delayed messages are already waiting, the most this replica holds`,
      );
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      if (canTalk(this.faults, message.from, message.to)) return this.enqueue(out, message.to);
      this.counters.dropped++;
      if (out.traceId > 0) this.o.trace?.dropped(out.traceId, 'partition cut');
    }, delayMs);
    timer.unref();
    this.delayed.add(timer);
  }

  private enqueue(out: Outgoing, to: number): void {
    const link = this.links.get(to);
    if (link === undefined || this.closed) {
      this.counters.dropped++;
      return;
    }
    link.outbox.push(out);
    // A caller sending in a tight loop must not pile up an unbounded batch before the turn ends.
    if (link.outbox.length >= MAX_OUTBOX_MESSAGES) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every peer's queued messages now; the scheduled flush, if any, then finds nothing left to do. */
  flush(): void {
    this.flushScheduled = false;
    // A leader sends every follower the same entries in one turn: each list is encoded once, not once per peer.
    const entriesText = new Map<unknown, string>();
    for (const link of this.links.values()) {
      if (link.outbox.length === 0) continue;
      const batch = link.outbox;
      link.outbox = [];
      for (const frame of this.frames(link, batch, entriesText)) this.write(link, frame);
    }
  }

  /**
   * Packs messages into frames of at most half the peer's frame limit (in
   * bytes, not characters: a value in Chinese is three bytes a character).
   * A message that alone would exceed the limit would only make the peer
   * close the link, again on every retransmission, so it is dropped here.
   */
  private frames(link: Link, batch: readonly Outgoing[], entriesText: Map<unknown, string>): Frame[] {
    const budget = Math.floor(this.o.maxFrameBytes / 2);
    const frames: Frame[] = [];
    let parts: string[] = [];
    let ids: number[] = [];
    let size = 2;
    const cut = () => {
      if (parts.length > 0) frames.push(packFrame(parts, ids, size));
      parts = [];
      ids = [];
      size = 2;
    };
    for (const { message, traceId } of batch) {
      const text = encodeMessage(message, entriesText);
      // A traced message also costs its id in the envelope: at most 16 digits and a comma.
      const bytes = Buffer.byteLength(text) + (traceId > 0 ? 17 : 0);
      if (bytes + 2 + ENVELOPE_BYTES > this.o.maxFrameBytes) {
        this.counters.dropped++;
        if (traceId > 0) this.o.trace?.dropped(traceId, 'larger than the frame limit');
        this.warnOversized(
          `dropped a ${bytes}-byte message to ${nodeName(link.id)}: larger than the ${this.o.maxFrameBytes}-byte frame limit`,
        );
        continue;
      }
      if (parts.length > 0 && size + parts.length + bytes > budget) cut();
      parts.push(text);
      ids.push(traceId);
      size += bytes;
    }
    cut();
    return frames;
  }

  private write(link: Link, frame: Frame): void {
    // A socket the peer is closing drops what it is given; such frames wait in the queue for the redial instead.
    if (link.open && link.ws !== null && link.ws.readyState === WebSocket.OPEN)
      return this.writeOpen(link, link.ws, frame);
    this.queueForRedial(link, frame);
    this.dial(link);
  }

  /**
   * A peer that is connected but not reading (stopped with SIGSTOP, swamped,
   * wedged) leaves what we write in our socket buffer. Written bytes cannot
   * be taken back, so the newest frame is the one dropped once the buffer
   * would pass the bound.
   */
  private writeOpen(link: Link, ws: WebSocket, frame: Frame): void {
    const unread = ws.bufferedAmount;
    if (unread + frame.bytes > this.backlogBytes) {
      this.dropForBacklog(
        link,
        frame,
        `it has left ${mib(unread)} MiB unread and a peer may leave at most ${mib(this.backlogBytes)} MiB`,
      );
      return;
    }
    this.counters.bytesOut += frame.bytes;
    ws.send(frame.text);
  }

  /** A peer that is down gets the newest frames when it is back; the oldest are dropped first, as they are the likeliest stale. */
  private queueForRedial(link: Link, frame: Frame): void {
    link.queue.push(frame);
    link.queuedBytes += frame.bytes;
    while (link.queue.length > 1 && (link.queue.length > MAX_QUEUED_FRAMES || link.queuedBytes > this.backlogBytes)) {
      const oldest = link.queue.shift();
      if (oldest === undefined) break; // Unreachable: the loop runs while more than one frame waits.
      link.queuedBytes -= oldest.bytes;
      this.dropForBacklog(
        link,
        oldest,
        `it is unreachable and ${link.queue.length} frames (${mib(link.queuedBytes)} MiB) already wait for it, at most ${MAX_QUEUED_FRAMES} frames or ${mib(this.backlogBytes)} MiB per peer`,
      );
    }
  }

  private dropForBacklog(link: Link, frame: Frame, why: string): void {
    this.counters.dropped += frame.count;
    this.counters.droppedBacklog += frame.count;
    link.warnDrop(
      `dropping messages to ${nodeName(link.id)} because ${why}; ` +
        `${this.counters.droppedBacklog} dropped so far on all links, and Paxos retransmits what matters`,
    );
  }

  /** What the link to one peer holds unsent; null for a peer this transport does not know. */
  backlog(peer: number): LinkBacklog | null {
    const link = this.links.get(peer);
    if (link === undefined) return null;
    return {
      open: link.open,
      queuedFrames: link.queue.length,
      queuedBytes: link.queuedBytes,
      bufferedBytes: link.ws?.bufferedAmount ?? 0,
    };
  }

  /** At most one dial per peer is in flight: a connecting socket or a pending retry timer blocks another. */
  private dial(link: Link): void {
    if (link.ws !== null || link.timer !== null || this.closed) return;
    const { host, port } = link.address;
    const tls = this.o.tls;
    const ws = new WebSocket(
      `${tls === undefined ? 'ws' : 'wss'}://${host.includes(':') ? `[${host}]` : host}:${port}/peer`,
      {
        ...(tls !== undefined
          ? { ca: tls.ca, cert: tls.cert, key: tls.key, checkServerIdentity: checkServerNode(tls.clusterId, link.id) }
          : {}),
        headers: {
          authorization: `Bearer ${this.o.secret}`,
          'x-paxos-node': String(this.o.selfId),
          ...(this.o.clusterId !== undefined ? { 'x-paxos-cluster': this.o.clusterId } : {}),
          ...(this.o.incarnation !== undefined ? { 'x-paxos-incarnation': String(this.o.incarnation) } : {}),
          ...(this.o.checkHandshake === true && this.o.advertised !== undefined
            ? { 'x-paxos-advertise': `${this.o.advertised.host}:${this.o.advertised.port}` }
            : {}),
        },
        maxPayload: this.o.maxFrameBytes,
        perMessageDeflate: false,
        handshakeTimeout: 2000,
        // Masking protects browsers' proxies from a script's frames; a link between two replicas that authenticated
        // each other needs none, and an all-zero mask lets ws skip XOR-copying every frame the leader sends.
        generateMask: zeroMask,
      },
    );
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
    if (link.problem !== null)
      this.o.log?.(`reached ${nodeName(link.id)} at ${link.address.host}:${link.address.port} again`);
    link.problem = null;
    const queued = link.queue;
    link.queue = [];
    link.queuedBytes = 0;
    for (const frame of queued) this.write(link, frame);
  }

  private noteProblem(link: Link, problem: string): void {
    if (problem === link.problem) return;
    link.problem = problem;
    this.o.log?.(
      `cannot reach ${nodeName(link.id)} at ${link.address.host}:${link.address.port}: ${problem}; retrying while there is something to send`,
    );
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

  /** Called by the server for every validated inbound message (with its trace id, 0 if none); the partition is enforced on this end too. */
  deliver(m: M, traceId = 0): void {
    if (this.closed) return;
    if (!canTalk(this.faults, m.from, m.to)) {
      this.counters.dropped++;
      if (traceId > 0) this.o.trace?.dropped(traceId, 'partition cut');
      return;
    }
    if (traceId > 0) this.o.trace?.delivered(traceId, m);
    this.handler(m);
  }

  stats(): WsTransportStats {
    const c = this.server.counters;
    return {
      sent: this.counters.sent,
      dropped: this.counters.dropped,
      droppedBacklog: this.counters.droppedBacklog,
      bytesOut: this.counters.bytesOut,
      received: c.received,
      invalid: c.invalid,
      bytesIn: c.bytesIn,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    for (const link of this.links.values()) this.hangUp(link);
    await this.server.close();
  }
}

/** Stands in for a message's entries while the rest of it is encoded; JSON.stringify writes it as `"\u0000"`. */
const ENTRIES_STAND_IN = '\u0000';
const ENTRIES_STAND_IN_TEXT = `"entries":${JSON.stringify(ENTRIES_STAND_IN)}`;

/**
 * A message's JSON text, the same as JSON.stringify's. A message with a list
 * of `entries` (a Multi-Paxos accept) takes that list's text from `cache`,
 * keyed by the list itself: the leader hands each follower's accept the same
 * list, so its values are encoded once per turn however many peers there are.
 */
export function encodeMessage(message: unknown, cache: Map<unknown, string>): string {
  const entries = (message as { entries?: unknown }).entries;
  if (!Array.isArray(entries) || entries.length === 0) return JSON.stringify(message);
  let text = cache.get(entries);
  if (text === undefined) {
    text = JSON.stringify(entries);
    cache.set(entries, text);
  }
  // Found exactly once, where the entries go; anything else (a nested key of that name holding the stand-in) is encoded whole.
  const rest = JSON.stringify({ ...(message as object), entries: ENTRIES_STAND_IN });
  const at = rest.indexOf(ENTRIES_STAND_IN_TEXT);
  if (at < 0 || rest.indexOf(ENTRIES_STAND_IN_TEXT, at + 1) >= 0) return JSON.stringify(message);
  return `${rest.slice(0, at)}"entries":${text}${rest.slice(at + ENTRIES_STAND_IN_TEXT.length)}`;
}

/** What the trace envelope adds around a frame's messages: `{"ids":[],"messages":}`. */
const ENVELOPE_BYTES = 24;

/**
 * A frame's text. Untraced, it is the JSON array of its messages, as it has
 * always been. Traced, the array goes in an envelope beside the messages'
 * trace ids (`{"ids":[..],"messages":[..]}`): the ids stay out of the
 * protocol's messages, and a receiver that predates tracing (it would take
 * the envelope for one malformed message) only ever meets one when the
 * cluster was started with --trace, which starts every replica from one build.
 */
function packFrame(parts: readonly string[], ids: readonly number[], size: number): Frame {
  const array = `[${parts.join(',')}]`;
  if (!ids.some((id) => id > 0)) return { text: array, bytes: size + parts.length - 1, count: parts.length };
  const text = `{"ids":[${ids.join(',')}],"messages":${array}}`;
  return { text, bytes: Buffer.byteLength(text), count: parts.length };
}

/** Bytes as MiB with one decimal, for log lines. */
function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

function dialProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  const tls = tlsProblem(err);
  if (tls !== null) return tls;
  if (err.code === 'ECONNRESET') return 'connection reset';
  const status = /Unexpected server response: (\d+)/.exec(err.message);
  if (status !== null)
    return status[1] === '401'
      ? 'it refused our cluster secret (HTTP 401)'
      : `it refused the connection (HTTP ${status[1]})`;
  return err.message;
}

export async function createWsTransport<M extends { from: number; to: number }>(
  o: WsTransportOptions<M>,
): Promise<WsTransport<M>> {
  let transport: WsTransport<M> | null = null;
  const server = await startWsServer<M>({
    host: o.host ?? '127.0.0.1',
    port: o.listenPort,
    secret: o.secret,
    ...(o.adminSecret !== undefined ? { adminSecret: o.adminSecret } : {}),
    ...(o.clientSecret !== undefined ? { clientSecret: o.clientSecret } : {}),
    clusterSize: o.clusterSize,
    selfId: o.selfId,
    maxFrameBytes: o.maxFrameBytes,
    validate: o.validate,
    onPeerMessage: (m, traceId) => transport?.deliver(m, traceId),
    ...(o.log ? { log: o.log } : {}),
    ...(o.onControl ? { onControl: o.onControl } : {}),
    ...(o.advertised !== undefined ? { advertised: [o.advertised] } : {}),
    ...(o.allowedHosts !== undefined ? { extraHosts: o.allowedHosts } : {}),
    ...(o.checkHandshake === true && o.clusterId !== undefined ? { clusterId: o.clusterId } : {}),
    ...(o.checkHandshake === true && o.incarnation !== undefined ? { checkIncarnations: true } : {}),
    ...(o.probes !== undefined ? { probes: o.probes } : {}),
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
    ...(o.checkHandshake === true ? { onPeerAddress: (node, a) => transport?.learnPeer(node, a) } : {}),
  });
  transport = new WsTransport(o, server);
  return transport;
}

// The control client lives in its own module; callers have always imported it from here.
export {
  type ControlClient,
  type ControlClientOptions,
  ControlConnectError,
  connectControl,
} from './control-client.js';

import { nodeName } from '../core/types.js';
