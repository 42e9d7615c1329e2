/**
 * An appender of text lines to one file: what a live run's trace parts
 * (live.ts) and its input logs (src/replay) are written with. Either each
 * line is written as it comes (`everyMs` 0: a trace part, so that a SIGKILL
 * loses no event that already happened, and a message never reaches a peer
 * before its send is on record), or lines are buffered and written on a
 * timer, and a SIGKILL may lose the last `everyMs` of them. Never an fsync:
 * these files are evidence of a run, not state the protocol relies on, and
 * a write() survives the process being killed (only the machine failing
 * loses it). A failed write (a full disk) stops the appender for good and is
 * reported once: it must cost the recording, never the replica.
 */
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class LineAppender {
  private buffer: string[] = [];
  private broken = false;
  private fd: number | null = null;
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly file: string,
    /** 0: write each line at once; otherwise how often buffered lines are written. */
    everyMs: number,
    private readonly onError: (err: Error) => void,
  ) {
    // A trace quotes every message, values included: private to the user, like the logs.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.timer = everyMs > 0 ? setInterval(() => this.flush(), everyMs) : null;
    this.timer?.unref();
  }

  /** Whether a write failed, after which nothing more is written. */
  get failed(): boolean {
    return this.broken;
  }

  push(line: string): void {
    if (this.broken) return;
    this.buffer.push(line);
    if (this.timer === null) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0 || this.broken) return;
    const text = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    try {
      // Opened once and kept: one write() a flush, not an open and a close around each.
      this.fd ??= openSync(
        this.file,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o600,
      );
      writeSync(this.fd, text);
    } catch (err) {
      this.broken = true;
      this.onError(err as Error);
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
