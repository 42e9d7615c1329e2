/**
 * Step mode (`paxos up --step`): a real replica (real process, real storage,
 * real WebSocket links) whose time and network move only when the user says.
 *
 * Two small pieces do it, both outside the core and the shell's loop:
 * - StepClock: the clock the replica's tick timer is registered on. It never
 *   fires by itself; `tick(n)` fires it n times. Everything else (deferring to
 *   the next turn, the dashboard's publishing) stays on the system clock, so
 *   the replica still answers, persists and reports while time stands still.
 * - HoldingLinks: wraps the real links. Every message the replica sends is
 *   parked in a bounded queue under an id unique across the cluster
 *   (`node:seq`) until it is delivered (handed to the real links, which then
 *   apply the partition and net rules as for any message) or dropped.
 *
 * Holding at the sender, not the receiver, is the simplest choice that keeps
 * ids stable: the holder names each message once, a killed holder loses its
 * held messages exactly as a crash loses what is in flight, and nothing held
 * ever touches a socket until it is released.
 */
import { formatBallot } from '../core/ballot.js';
import { describeMessage } from '../core/describe.js';
import { must } from '../core/must.js';
import type { Protocol } from '../core/types.js';
import { messageFields } from '../trace/messages.js';
import { type Clock, systemClock } from './clock.js';
import type { PeerLinks, PeerMessage } from './replica.js';
import type { StepJournal } from './step-journal.js';

/** Messages one replica holds at most. Past it new messages are dropped (and counted, and logged): Paxos tolerates loss, a process does not tolerate unbounded memory. */
export const MAX_HELD = 10_000;
/** Held messages one `held` answer lists per replica; the count says how many more there are. */
export const MAX_LISTED = 1_000;
/** Ticks one `tick` request may ask for. */
export const MAX_TICKS = 10_000;

export const NOT_STEP_MODE = 'the cluster is not in step mode; start it with paxos up --step';

/** A clock whose interval timers fire only when `tick` is called; nowMs and defer are the system's. */
export class StepClock implements Clock {
  private readonly timers = new Set<() => void>();

  nowMs(): number {
    return systemClock.nowMs();
  }

  every(_intervalMs: number, fn: () => void): () => void {
    const timer = () => fn();
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  defer(fn: () => void): void {
    systemClock.defer(fn);
  }

  tick(count: number): void {
    for (let i = 0; i < count; i++) for (const t of [...this.timers]) t();
  }
}

/** What can be done to held messages: send on, forget, or send a copy and keep holding. */
export type StepRelease = 'deliver' | 'drop' | 'duplicate';

/** The past tense of each, as answers print it. */
export const RELEASED: Readonly<Record<StepRelease, string>> = {
  deliver: 'delivered',
  drop: 'dropped',
  duplicate: 'duplicated',
};

/** One held message as `paxos held` shows it. */
export interface HeldMessage {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly type: string;
  readonly ballot: string | null;
  readonly slot: number | null;
  readonly key: string | null;
  readonly value: string | null;
  /** The whole message in the dashboard's words: `node-1 → node-2 prepare (1.1) from #0`. */
  readonly text: string;
}

interface Held {
  readonly id: string;
  readonly message: PeerMessage;
}

export class HoldingLinks implements PeerLinks {
  private readonly held = new Map<string, Held>();
  private seq = 0;
  private droppedFull = 0;
  private handler: ((message: PeerMessage) => void) | null = null;
  /** Told of every message as it is held (a live scenario's journal). */
  onHeld: ((id: string, message: PeerMessage) => void) | null = null;

  constructor(
    private readonly inner: PeerLinks,
    private readonly selfId: number,
    private readonly protocol: Protocol,
    private readonly log: (line: string) => void,
  ) {}

  send(message: PeerMessage): void {
    if (this.held.size >= MAX_HELD) {
      if (this.droppedFull++ % 1000 === 0) {
        this.log(
          `step mode: ${MAX_HELD} messages are held, the most this replica keeps; dropping new ones (${this.droppedFull} so far) until some are delivered or dropped`,
        );
      }
      return;
    }
    const id = `${this.selfId}:${++this.seq}`;
    this.held.set(id, { id, message });
    this.onHeld?.(id, message);
  }

  /** How many messages this replica has held so far (the seq of the last id). */
  sequence(): number {
    return this.seq;
  }

  /** Nothing leaves until it is delivered, so there is nothing to write early. */
  flush(): void {}

  onMessage(handler: (message: PeerMessage) => void): void {
    this.handler = handler;
    this.inner.onMessage(handler);
  }

  /**
   * Hands the replica a message as if it had arrived from its sender: for a
   * message a killed replica sent before it died. Held at its sender, such a
   * message would have died with it, where on a real network it would still
   * be on the wire; a live scenario delivers it this way.
   */
  inject(message: PeerMessage): void {
    this.handler?.(message);
  }

  list(limit = MAX_LISTED): { messages: HeldMessage[]; total: number; droppedFull: number } {
    const messages: HeldMessage[] = [];
    for (const h of this.held.values()) {
      if (messages.length >= limit) break;
      messages.push(this.describe(h));
    }
    return { messages, total: this.held.size, droppedFull: this.droppedFull };
  }

  /** Hands held messages to the real links (oldest first for `all`); if any id is not held here, nothing is done and those ids come back as missing. */
  deliver(ids: readonly string[] | 'all'): { done: HeldMessage[]; missing: string[] } {
    return this.sendOn(this.take(ids));
  }

  /**
   * Sends a copy of each held message and keeps it held, so it can be
   * delivered again later: the duplicate a real network may make. All or
   * none, as for deliver.
   */
  duplicate(ids: readonly string[] | 'all'): { done: HeldMessage[]; missing: string[] } {
    return this.sendOn(this.pick(ids));
  }

  /** Forgets held messages: they are never delivered. */
  drop(ids: readonly string[] | 'all'): { done: HeldMessage[]; missing: string[] } {
    const r = this.take(ids);
    return { done: r.picked.map((h) => this.describe(h)), missing: r.missing };
  }

  private sendOn(r: { picked: Held[]; missing: string[] }): { done: HeldMessage[]; missing: string[] } {
    for (const h of r.picked) this.inner.send(h.message);
    if (r.picked.length > 0) this.inner.flush?.();
    return { done: r.picked.map((h) => this.describe(h)), missing: r.missing };
  }

  /** The held messages the ids name, each once, left held; all or none: a mistyped id must not leave the others half handled. */
  private pick(ids: readonly string[] | 'all'): { picked: Held[]; missing: string[] } {
    if (ids === 'all') return { picked: [...this.held.values()], missing: [] };
    const missing = ids.filter((id) => !this.held.has(id));
    if (missing.length > 0) return { picked: [], missing };
    return { picked: [...new Set(ids)].map((id) => must(this.held.get(id), 'no id is missing')), missing };
  }

  /** As pick, and no longer held. */
  private take(ids: readonly string[] | 'all'): { picked: Held[]; missing: string[] } {
    const r = this.pick(ids);
    for (const h of r.picked) this.held.delete(h.id);
    return r;
  }

  private describe(h: Held): HeldMessage {
    const f = messageFields(this.protocol, h.message);
    return {
      id: h.id,
      from: f.from,
      to: f.to,
      type: f.type,
      ballot: f.ballot === undefined || f.ballot === null ? null : formatBallot(f.ballot),
      slot: f.slot ?? null,
      key: f.key ?? null,
      value: f.value ?? null,
      text: describeMessage(this.protocol, h.message),
    };
  }
}

/** What the control API needs of step mode in one replica. */
export interface StepControl {
  readonly links: HoldingLinks;
  readonly clock: StepClock;
  /** Whether the replica has stepped and released everything it was given (so the messages a tick caused are held). */
  readonly settled: () => boolean;
  /** What the replica did, for a live scenario. */
  readonly journal: StepJournal;
  /** The peer messages it has taken in (delivered or injected), so a scenario knows when a delivery has arrived. */
  readonly messagesIn: () => number;
  /** Checks a message to inject, as the transport checks every frame. */
  readonly validate: (x: unknown) => PeerMessage | null;
  /** What its acceptor and learner hold, in the scenario's words. */
  readonly state: () => string[];
}

/**
 * Fires `count` ticks and waits (at most 2 s) until the replica has stepped
 * the core and written and released what the ticks produced, so the answer
 * can say how many new messages that held. Ticks go in back to back: between
 * them no message can arrive that was not already delivered.
 */
export async function tickAndSettle(
  step: StepControl,
  count: number,
): Promise<{ ticks: number; newlyHeld: number; held: number }> {
  const seqBefore = step.links.sequence();
  step.clock.tick(count);
  await waitSettled(step);
  return { ticks: count, newlyHeld: step.links.sequence() - seqBefore, held: step.links.list(0).total };
}

/** Waits until the replica has nothing queued, stepping or being written; bounded, so a wedged disk cannot hang a control request. */
export async function waitSettled(step: StepControl, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietTurns = 0;
  // Two quiet turns in a row: a released Ready may enqueue a persisted note that steps once more.
  while (quietTurns < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    quietTurns = step.settled() ? quietTurns + 1 : 0;
  }
}
