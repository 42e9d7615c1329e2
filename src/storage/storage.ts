/**
 * Durable state of one replica: an append-only log of opaque records. The
 * replica appends each Ready's records and sends nothing that depends on
 * them until `append` resolves, which is after fsync.
 */
export interface StorageStats {
  readonly records: number;
  readonly bytes: number;
  readonly fsyncs: number;
  readonly appends: number;
}

export interface RecordStorage<R> {
  /** Records recovered at open, oldest first. */
  readonly recovered: readonly R[];
  /**
   * Appends records durably; resolves only once they are fsynced. Calls made
   * while an fsync runs are coalesced into one write and one fsync (group
   * commit) when it finishes; records keep the order of the calls.
   */
  append(records: readonly R[]): Promise<void>;
  /**
   * Queues records that nothing waits on: they are written with the next
   * append's fsync, or by a short timer when the replica is idle, and may be
   * lost in a crash before that.
   */
  appendLazy(records: readonly R[]): void;
  close(): Promise<void>;
  stats(): StorageStats;
}

/** The in-memory twin, for tests of the replica; "durable" means "in this array". */
export class MemoryStorage<R> implements RecordStorage<R> {
  readonly recovered: readonly R[];
  readonly records: R[];
  private appends = 0;
  private closed = false;

  constructor(initial: readonly R[] = []) {
    this.recovered = [...initial];
    this.records = [...initial];
  }

  async append(records: readonly R[]): Promise<void> {
    if (this.closed) throw new Error('storage is closed');
    this.appends++;
    this.records.push(...records);
  }

  appendLazy(records: readonly R[]): void {
    if (!this.closed) this.records.push(...records);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): StorageStats {
    return { records: this.records.length, bytes: 0, fsyncs: this.appends, appends: this.appends };
  }
}
