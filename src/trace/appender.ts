/**
 * A buffered appender of text lines to one file, flushed on a timer: what a
 * live run's trace parts (live.ts) and its input logs (src/replay) are
 * written with. Never an fsync: these files are evidence of a run, not state
 * the protocol relies on, so a SIGKILL may lose the last `everyMs` of lines.
 * A failed write (a full disk) stops the appender for good and is reported
 * once: it must cost the recording, never the replica.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class LineAppender {
  private buffer: string[] = [];
  private broken = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    everyMs: number,
    private readonly onError: (err: Error) => void,
  ) {
    // A trace quotes every message, values included: private to the user, like the logs.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.timer = setInterval(() => this.flush(), everyMs);
    this.timer.unref();
  }

  /** Whether a write failed, after which nothing more is written. */
  get failed(): boolean {
    return this.broken;
  }

  push(line: string): void {
    if (!this.broken) this.buffer.push(line);
  }

  flush(): void {
    if (this.buffer.length === 0 || this.broken) return;
    const text = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    try {
      appendFileSync(this.file, text, { mode: 0o600 });
    } catch (err) {
      this.broken = true;
      this.onError(err as Error);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
