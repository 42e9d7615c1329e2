/**
 * Reads all of stdin synchronously, for commands that take `-` as a file.
 * `readFileSync(0)` throws EAGAIN when stdin is a pipe whose writer has not
 * written yet (`paxos sim --seed 7 --trace - | paxos trace -`: the schedule
 * takes a moment before its first line), so this reads in a loop and waits a
 * few milliseconds whenever the pipe is empty but still open.
 */
import { readSync } from 'node:fs';
import { OperatingError } from '../../errors.js';

const CHUNK_BYTES = 64 * 1024;
/** How long to wait on an empty pipe before asking again: short next to a schedule's run, long next to a system call. */
const POLL_MS = 5;
/** A writer silent this long is taken to be stuck rather than slow. */
const SILENCE_LIMIT_MS = 10 * 60_000;
/** Far above any trace `readTrace` accepts (a million events is about 150 MB), so only a runaway writer reaches it. */
const MAX_BYTES = 1024 * 1024 * 1024;

export function readStdinSync(): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(CHUNK_BYTES);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let totalBytes = 0;
  let silentMs = 0;
  // Each pass reads at least one byte or waits POLL_MS, so the two limits bound the loop.
  while (totalBytes <= MAX_BYTES && silentMs <= SILENCE_LIMIT_MS) {
    const n = readOnce(buffer);
    if (n === 0) return Buffer.concat(chunks).toString('utf8');
    if (n === null) {
      Atomics.wait(sleeper, 0, 0, POLL_MS);
      silentMs += POLL_MS;
      continue;
    }
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    totalBytes += n;
    silentMs = 0;
  }
  throw new OperatingError(
    totalBytes > MAX_BYTES
      ? `stdin holds more than ${MAX_BYTES / 1024 / 1024} MiB; write the trace to a file and cut it with --from and --to`
      : `stdin sent nothing for ${SILENCE_LIMIT_MS / 60_000} minutes and did not end; is the command writing to it stuck?`,
  );
}

/** Bytes read, 0 at the end of input, or null when the pipe is empty for now. */
function readOnce(buffer: Buffer): number | null {
  try {
    return readSync(0, buffer, 0, buffer.length, null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return null;
    // Windows reports the end of a pipe as an error rather than a read of 0 bytes.
    if (code === 'EOF') return 0;
    throw err;
  }
}
