/**
 * Keeps step mode's list of held messages current for the dashboard. The
 * cluster publishes no event when a message is held, so the list is read
 * again a little after each answer (a poll), and at once after every step
 * action, whose effect the user is waiting to see.
 */
import type { HeldMessage } from '../node/step.js';

/** What the dashboard draws from: the latest list read, and whether that read failed. */
export interface HeldSnapshot {
  readonly messages: readonly HeldMessage[];
  /** Held in all, which may be more than listed. */
  readonly total: number;
  /** Why the latest read failed; null after a good one. The messages are then the last ones read. */
  readonly error: string | null;
}

export const NO_HELD: HeldSnapshot = { messages: [], total: 0, error: null };

/** A person stepping by hand sees a change within a third of a second, at the cost of three small requests a second while in step mode. */
export const HELD_POLL_MS = 300;
/** The most messages kept for the cursor to move through; the replicas already cap their lists at a thousand each. */
export const MAX_HELD_KEPT = 5000;

export type ReadHeld = () => Promise<{ readonly messages: readonly HeldMessage[]; readonly total: number }>;

export class HeldFeed {
  private snapshot: HeldSnapshot = NO_HELD;
  /** What the snapshot was read from, so an unchanged answer does not re-render the screen. */
  private signature = '';
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** A refresh was asked for while a read was out; that read may predate the action, so one more follows it. */
  private again = false;
  private stopped = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly read: ReadHeld,
    private readonly intervalMs = HELD_POLL_MS,
  ) {}

  /** Reads now, then again `intervalMs` after each answer; at most one read is ever out. */
  refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.reading = true;
    Promise.resolve()
      .then(this.read)
      .then(
        (list) => this.publish({ messages: list.messages.slice(0, MAX_HELD_KEPT), total: list.total, error: null }),
        (err: unknown) => this.publish({ ...this.snapshot, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => this.next());
  }

  /** Stops for good: no read is started and no timer is left behind, though a read already out may still answer (and is ignored). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): HeldSnapshot => this.snapshot;

  private next(): void {
    this.reading = false;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.refresh();
      return;
    }
    this.timer = setTimeout(() => this.refresh(), this.intervalMs);
    // The dashboard's own exit stops the feed; the timer must not be what keeps a finished process alive.
    this.timer.unref?.();
  }

  private publish(next: HeldSnapshot): void {
    if (this.stopped) return;
    const signature = `${next.total}\n${next.error ?? ''}\n${next.messages.map((m) => `${m.id} ${m.text}`).join('\n')}`;
    if (signature === this.signature) return;
    this.signature = signature;
    this.snapshot = next;
    for (const listener of this.listeners) listener();
  }
}
