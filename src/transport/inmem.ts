/**
 * The in-memory twin of the WebSocket transport, for tests of the replica:
 * same interface, same fault rules, same validation, no sockets. Delivery
 * is always asynchronous (a message sent now arrives on a later turn of the
 * event loop, never inside `send`), and every message goes through JSON and
 * back, so a replica that relies on object identity or sends something
 * JSON cannot carry fails here as it would over the wire.
 */
import { Random } from '../core/random.js';
import { canTalk, decide, type FaultRules } from './faults.js';
import type { Transport, TransportStats } from './transport.js';

export interface InMemoryNetworkOptions<M> {
  /** Seeds the generator behind drop and delay decisions; the same seed and sends give the same fates. */
  readonly seed?: number;
  /** Checks every delivered message as the real server does; without it any JSON object with numeric from/to passes. */
  readonly validate?: (x: unknown) => M | null;
}

/** Messages in flight on the whole network at once (parked in timers or awaiting their turn); more are dropped. */
export const MAX_IN_FLIGHT = 100_000;

interface Counters {
  sent: number;
  received: number;
  dropped: number;
  invalid: number;
  bytesOut: number;
  bytesIn: number;
}

/** The hub: transports join it by node id and it carries their messages. */
export class InMemoryNetwork<M extends { from: number; to: number }> {
  private readonly members = new Map<number, InMemoryTransport<M>>();
  private readonly timers = new Set<NodeJS.Timeout | NodeJS.Immediate>();
  readonly random: Random;

  constructor(private readonly o: InMemoryNetworkOptions<M> = {}) {
    this.random = new Random(o.seed ?? 1);
  }

  /** A transport for node `id`. A closed node may join again (a restart); two live transports for one id are a bug. */
  join(id: number): InMemoryTransport<M> {
    if (!Number.isInteger(id) || id < 1) throw new Error(`InMemoryNetwork.join: node ids are integers from 1, got ${id}`);
    if (this.members.has(id)) throw new Error(`InMemoryNetwork.join: node-${id} is already on this network; close it first`);
    const transport = new InMemoryTransport<M>(id, this);
    this.members.set(id, transport);
    return transport;
  }

  /** Gives every current member the same rules, as the orchestrator does. */
  setFaults(rules: FaultRules): void {
    for (const t of this.members.values()) t.setFaults(rules);
  }

  /** Messages sent but not yet delivered or dropped. */
  inFlight(): number {
    return this.timers.size;
  }

  /** Called by a transport: schedules one message, already judged by the sender's rules. */
  carry(o: { from: InMemoryTransport<M>; to: number; text: string; delayMs: number }): boolean {
    if (this.timers.size >= MAX_IN_FLIGHT) return false;
    const { from, to, text, delayMs } = o;
    const arrive = () => this.arrive(from, to, text);
    if (delayMs > 0) {
      const timer = setTimeout(() => { this.timers.delete(timer); arrive(); }, delayMs);
      this.timers.add(timer);
    } else {
      const immediate = setImmediate(() => { this.timers.delete(immediate); arrive(); });
      this.timers.add(immediate);
    }
    return true;
  }

  private arrive(from: InMemoryTransport<M>, to: number, text: string): void {
    const target = this.members.get(to);
    if (target === undefined) {
      from.countDropped();
      return;
    }
    target.receive(text, from.id, this.o.validate);
  }

  leave(transport: InMemoryTransport<M>): void {
    if (this.members.get(transport.id) === transport) this.members.delete(transport.id);
  }

  /** Drops everything in flight: for a test's `after`, so no timer outlives it. */
  close(): void {
    for (const t of this.timers) {
      clearTimeout(t as NodeJS.Timeout);
      clearImmediate(t as NodeJS.Immediate);
    }
    this.timers.clear();
    for (const t of [...this.members.values()]) void t.close();
  }
}

export class InMemoryTransport<M extends { from: number; to: number }> implements Transport<M> {
  private handler: (m: M) => void = () => undefined;
  private faults: FaultRules = {};
  private closed = false;
  private readonly counters: Counters = { sent: 0, received: 0, dropped: 0, invalid: 0, bytesOut: 0, bytesIn: 0 };

  constructor(readonly id: number, private readonly network: InMemoryNetwork<M>) {}

  send(message: M): void {
    const fate = decide(this.faults, message.from, message.to, () => this.network.random.next());
    if (this.closed || message.to === this.id || !fate.deliver) {
      this.counters.dropped++;
      return;
    }
    // Serialised now, as the real transport does at its flush: later changes to the object do not travel.
    const text = JSON.stringify(message);
    if (!this.network.carry({ from: this, to: message.to, text, delayMs: fate.delayMs })) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    this.counters.bytesOut += Buffer.byteLength(text);
  }

  /** Nothing is batched here, so there is nothing to flush; present so the replica's call is exercised. */
  flush(): void {}

  onMessage(handler: (message: M) => void): void {
    this.handler = handler;
  }

  setFaults(rules: FaultRules): void {
    this.faults = rules;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.leave(this);
  }

  countDropped(): void {
    this.counters.dropped++;
  }

  /** The receiving half of the real server: validate, check the sender, enforce the partition on this end too. */
  receive(text: string, senderId: number, validate: ((x: unknown) => M | null) | undefined): void {
    if (this.closed) return;
    this.counters.bytesIn += Buffer.byteLength(text);
    const m = check(JSON.parse(text), validate);
    if (m === null || m.from !== senderId || m.to !== this.id) {
      this.counters.invalid++;
      return;
    }
    this.counters.received++;
    if (!canTalk(this.faults, m.from, m.to)) {
      this.counters.dropped++;
      return;
    }
    this.handler(m);
  }
}

function check<M extends { from: number; to: number }>(x: unknown, validate: ((x: unknown) => M | null) | undefined): M | null {
  if (validate !== undefined) {
    try {
      return validate(x);
    } catch {
      return null;
    }
  }
  if (typeof x !== 'object' || x === null) return null;
  const { from, to } = x as { from?: unknown; to?: unknown };
  return Number.isInteger(from) && Number.isInteger(to) ? (x as M) : null;
}
