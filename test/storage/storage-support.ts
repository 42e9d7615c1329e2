/** Shared pieces of the storage tests: temporary directories and a scriptable log file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { LogFile } from '../../src/storage/file-storage.js';

/** Returns a maker of temporary directories that are all removed when the calling test file ends. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-storage-'));
    dirs.push(dir);
    return dir;
  };
}

/**
 * A log file in memory whose writes can be cut short, whose fsyncs can be held
 * until the test releases them, and which can fail an fsync on demand.
 */
export class ScriptedFile implements LogFile {
  /** Every write() call's bytes, in order. */
  readonly writes: Buffer[] = [];
  /** Bytes that reached an fsync that succeeded. */
  durable = Buffer.alloc(0);
  syncs = 0;
  closed = false;
  /** The most bytes one write() takes (a short write otherwise). */
  maxWriteBytes = Number.POSITIVE_INFINITY;
  /** When set, the n-th datasync (1-based) fails with EIO. */
  failSyncNumber: number | null = null;
  /** When true, each datasync waits for `releaseSync()`. */
  holdSyncs = false;
  private held: (() => void)[] = [];

  async write(data: Buffer): Promise<{ bytesWritten: number }> {
    const taken = Buffer.from(data.subarray(0, Math.min(data.length, this.maxWriteBytes)));
    this.writes.push(taken);
    return { bytesWritten: taken.length };
  }

  async datasync(): Promise<void> {
    this.syncs++;
    if (this.holdSyncs) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.syncs === this.failSyncNumber)
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    this.durable = Buffer.concat(this.writes);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** How many fsyncs are waiting for `releaseSync`. */
  get heldSyncs(): number {
    return this.held.length;
  }

  releaseSync(): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no fsync is being held');
    next();
  }
}

/** Lets every pending promise callback run (bounded: a fixed number of turns of the event loop). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
