import type { Checkpoint, ChosenValue, ClientReply, CoreEvent, PersistedNote, Ready } from './types.js';

/**
 * Collects what one or more steps produce until the runtime drains it with
 * `take()`. Everything drained together is persisted with one fsync and then
 * released: that is where group commit and batching come from.
 */
export class Outbox<M, R> {
  persist: R[] = [];
  persistLazy: R[] = [];
  earlyMessages: M[] = [];
  afterPersist: PersistedNote | null = null;
  messages: M[] = [];
  replies: ClientReply[] = [];
  chosen: ChosenValue[] = [];
  events: CoreEvent[] = [];
  checkpoint: Checkpoint<R> | null = null;

  take(): Ready<M, R> {
    const ready: Ready<M, R> = {
      persist: this.persist,
      persistLazy: this.persistLazy,
      earlyMessages: this.earlyMessages,
      afterPersist: this.afterPersist,
      messages: this.messages,
      replies: this.replies,
      chosen: this.chosen,
      events: this.events,
      checkpoint: this.checkpoint,
    };
    this.persist = [];
    this.persistLazy = [];
    this.earlyMessages = [];
    this.afterPersist = null;
    this.messages = [];
    this.replies = [];
    this.chosen = [];
    this.events = [];
    this.checkpoint = null;
    return ready;
  }
}
