/**
 * Operating errors of the record log: each carries one sentence a person can
 * act on. `name` is set so that a process can tell them apart after they
 * cross a module boundary (the replica exits with its own code on corruption).
 */
export class StorageError extends Error {
  override name = 'StorageError';
}

/** The log holds damage that could hide acknowledged records: the replica must not start on it. */
export class StorageCorruptError extends StorageError {
  override name = 'StorageCorruptError';
}

/** Another live process holds the data directory. */
export class StorageLockedError extends StorageError {
  override name = 'StorageLockedError';
}

/** A write or fsync failed: nothing queued is durable, and the log accepts nothing more. */
export class StorageFailedError extends StorageError {
  override name = 'StorageFailedError';
}

/**
 * The log cannot show it still holds everything it acknowledged: it is
 * missing or empty though it was created, has lost its header, belongs to
 * another replica, or falls short of its durable high-water mark (truncated,
 * or rolled back to an earlier copy). A replica must not vote from it.
 */
export class DataDamagedError extends StorageCorruptError {
  override name = 'DataDamagedError';
}
