/**
 * Where `paxos sim --trace` writes: a file, or stdout for `-`. Lines are
 * gathered into chunks and written synchronously, because a schedule runs
 * synchronously from start to end: an asynchronous stream would hold the
 * whole trace in memory until the run yields, and a buffered chunk bounds it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { OperatingError } from '../../errors.js';

/** Bytes gathered before a write: a few hundred trace lines, so a long trace costs few system calls. */
const CHUNK_BYTES = 64 * 1024;

export interface TraceOutput {
  /** One trace line, without its newline. */
  readonly write: (line: string) => void;
  /** Writes what is gathered and closes the file; returns how many lines were written in all. */
  readonly close: () => number;
}

function describeOpenError(target: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `cannot write the trace to ${target}: its folder does not exist`;
  if (code === 'EISDIR') return `cannot write the trace to ${target}: it is a folder; name a file`;
  return `cannot write the trace to ${target}: ${(err as Error).message}`;
}

/** Opens `target` (`-` is stdout) before the run, so a bad path fails at once rather than after the schedule. */
export function openTraceOutput(target: string): TraceOutput {
  let fd: number;
  try {
    fd = target === '-' ? 1 : openSync(target, 'w', 0o600);
  } catch (err) {
    throw new OperatingError(describeOpenError(target, err));
  }
  let pending: string[] = [];
  let pendingBytes = 0;
  let lines = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    pendingBytes = 0;
    writeAll(fd, text, target);
  };
  return {
    write: (line) => {
      pending.push(line);
      pendingBytes += line.length + 1;
      lines++;
      if (pendingBytes >= CHUNK_BYTES) flush();
    },
    close: () => {
      flush();
      if (fd !== 1) closeSync(fd);
      return lines;
    },
  };
}

/** `writeSync` may write part of a buffer (a pipe that is full); the rest is written until nothing is left. */
function writeAll(fd: number, text: string, target: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  // A pass writes at least one byte, throws, or meets a full non-blocking pipe (EAGAIN) and tries again;
  // the passes are capped at one per byte so a pipe that never drains cannot spin forever.
  for (let pass = 0; offset < bytes.length && pass <= bytes.length; pass++) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw new OperatingError(`cannot write the trace to ${where(target)}: ${(err as Error).message}`);
    }
  }
  if (offset < bytes.length)
    throw new OperatingError(`cannot write the trace to ${where(target)}: it stopped taking data`);
}

function where(target: string): string {
  return target === '-' ? 'stdout' : target;
}
