/**
 * What a replica in step mode did, for a live scenario to print: the core's
 * events, every message it held, what it learned, the replies it gave and
 * the records it wrote, in the order they happened. `paxos scenario run
 * --live` drains it after every step and writes it in the same words as the
 * scripted runner, so one expected trace judges both.
 *
 * The journal keeps raw data (events, messages, records, replies), not text:
 * the words belong to the scenario, and the replica only reports. It records
 * through the shell's existing seams (the probe, the holding links, a wrapper
 * around the durable log), so the shell runs exactly as in any other cluster.
 */
import type { ClientReply, Command, CoreEvent } from '../core/types.js';
import type { DurableLog } from '../storage/storage.js';
import type { PeerMessage, ReplicaProbe } from './replica.js';

export type JournalEntry =
  /** This incarnation started from this many records on disk. */
  | { readonly k: 'started'; readonly records: number }
  | { readonly k: 'event'; readonly event: CoreEvent }
  /** A message it sent, held under `id` until delivered or dropped. */
  | { readonly k: 'send'; readonly id: string; readonly message: PeerMessage }
  | {
      readonly k: 'learned';
      readonly chosen: readonly { readonly instance: string | number; readonly value: string }[];
    }
  | { readonly k: 'reply'; readonly command: Command; readonly reply: ClientReply }
  /** A write reached the disk: the lazy records that rode along with it first, then its own. */
  | { readonly k: 'persists'; readonly records: readonly unknown[] }
  /** Lazy records queued for the next write; a crash before it loses them. */
  | { readonly k: 'kept'; readonly records: readonly unknown[] };

/** Entries kept between two reads; a scenario reads after every step, so this is never reached unless nobody reads. */
export const MAX_JOURNAL_ENTRIES = 10_000;

export class StepJournal {
  private entries: JournalEntry[] = [];
  private dropped = 0;
  /** What the Ready being released learned, told after its last message has been held (as the scripted runner tells it). */
  private learned: { chosen: { instance: string | number; value: string }[]; messagesLeft: number } | null = null;

  constructor(recoveredRecords: number) {
    this.record({ k: 'started', records: recoveredRecords });
  }

  /** Everything recorded since the last take, oldest first, and how many entries were dropped for want of room. */
  take(): { entries: JournalEntry[]; dropped: number } {
    const taken = { entries: this.entries, dropped: this.dropped };
    this.entries = [];
    this.dropped = 0;
    return taken;
  }

  /** The shell's probe: events when a Ready is taken, what it learned and whom it answered when it is released. */
  probe(): ReplicaProbe {
    return {
      onReady: (_core, ready) => {
        for (const event of ready.events) this.record({ k: 'event', event });
      },
      onRelease: (ready) => {
        const chosen = ready.chosen.map((c) => ({ instance: c.instance, value: c.value }));
        if (ready.messages.length === 0) this.noteLearned(chosen);
        else this.learned = { chosen, messagesLeft: ready.messages.length };
      },
      onAnswer: (command, reply) => this.record({ k: 'reply', command, reply }),
    };
  }

  /** The holding links hand over every message they hold. */
  held(id: string, message: PeerMessage): void {
    this.record({ k: 'send', id, message });
    if (this.learned !== null && --this.learned.messagesLeft === 0) {
      const { chosen } = this.learned;
      this.learned = null;
      this.noteLearned(chosen);
    }
  }

  /** The durable log, reporting each write once it is on disk and each lazy record as it is queued. */
  wrap(log: DurableLog<unknown>): DurableLog<unknown> {
    let lazy: unknown[] = [];
    return {
      recovered: log.recovered,
      recoveredSnapshot: log.recoveredSnapshot,
      append: (records, done) => {
        const written = [...lazy, ...records];
        lazy = [];
        log.append(records, (err) => {
          if (err === null) this.record({ k: 'persists', records: written });
          done(err);
        });
      },
      appendLazy: (records) => {
        lazy.push(...records);
        this.record({ k: 'kept', records: [...records] });
        log.appendLazy(records);
      },
      checkpoint: (c, done) => {
        lazy = [];
        log.checkpoint(c, done);
      },
      stats: () => log.stats(),
    };
  }

  private noteLearned(chosen: { instance: string | number; value: string }[]): void {
    if (chosen.length > 0) this.record({ k: 'learned', chosen });
  }

  private record(e: JournalEntry): void {
    if (this.entries.length >= MAX_JOURNAL_ENTRIES) {
      this.dropped++;
      return;
    }
    this.entries.push(e);
  }
}
