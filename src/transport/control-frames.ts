/**
 * Lists on /control. A client with many requests in flight (the benchmark,
 * a busy orchestrator) makes and answers them a turn at a time, so the
 * requests of one turn travel as one frame, a JSON array of requests, and
 * their answers as one frame, an array of answers; the peer links have
 * always batched their messages this way. Every WebSocket frame costs the
 * leader a parse of its header, an event and a write of its own, per value
 * at full load.
 *
 * Both ends stay compatible with builds that know only single objects: a
 * server that reads lists says so at the handshake (the response header
 * below), a client sends lists only to such a server, and a server answers
 * with lists only a connection that sent one.
 */
import type { WebSocket } from 'ws';

/** Sent by a server that reads a frame holding a JSON array of requests. */
export const BATCH_HEADER = 'x-paxos-control-batch';
export const BATCH_HEADER_LINE = 'X-Paxos-Control-Batch: 1';

/** The requests of a frame (one object, or each element of a list) or, for each that is not one, the sentence why. */
export function requestsOf(parsed: unknown): { readonly list: boolean; readonly items: readonly unknown[] } {
  return Array.isArray(parsed) && parsed.length > 0 ? { list: true, items: parsed } : { list: false, items: [parsed] };
}

/** A request object, or the sentence explaining why the value is not one. */
export function checkRequest(req: unknown): { id: number | string } | string {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return 'a request must be a JSON object';
  const id = (req as { id?: unknown }).id;
  if (typeof id !== 'number' && typeof id !== 'string') return 'a request needs an id (a number or a string)';
  return req as { id: number | string };
}

/**
 * The answers of one turn to a connection that sends lists, sent as one
 * frame at the end of the turn (process.nextTick, queued from the turn's
 * callbacks and promise reactions, runs after them); one answer alone goes
 * as the object it is.
 */
export class AnswerOutbox {
  private texts: string[] = [];

  constructor(
    private readonly ws: WebSocket,
    /** Called before the frame is sent (the connection's cork, cork.ts). */
    private readonly cork: () => void,
  ) {}

  add(text: string): void {
    this.texts.push(text);
    if (this.texts.length === 1) process.nextTick(() => this.flush());
  }

  /** Sends what waits now: before an event, so that answers and events keep the order they were made in. */
  flush(): void {
    if (this.texts.length === 0) return;
    const texts = this.texts;
    this.texts = [];
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.cork();
    this.ws.send(texts.length === 1 ? texts[0] : `[${texts.join(',')}]`);
  }
}
