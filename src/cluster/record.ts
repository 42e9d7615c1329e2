/**
 * The cluster record: how a command typed in another terminal finds the
 * running cluster and proves it belongs to it (the secret). Kept in a file
 * only its owner can read (mode 0600), opened without following links and
 * replaced by rename, so that nobody else can point it elsewhere. Read and
 * written with node:fs rather than a settings library: every `paxos propose`
 * reads it, and loading one cost more start-up time than the rest of the command.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { OperatingError } from '../errors.js';
import { checkHome, ensureHome, fileSystemError, paxosHome } from './home.js';
import { type ClusterRecord, ClusterRecordSchema, parseOrThrow } from './schemas.js';

export type { ClusterRecord, ReplicaRecord } from './schemas.js';

export function recordFileOf(home: string): string {
  return join(home, 'cluster.json');
}

/**
 * The record of the cluster running from `home`, or null when there is none.
 * Reading never creates anything: `paxos status` in a home that does not
 * exist says no cluster runs and leaves no directory behind. The file is
 * checked against the schema: a hand-edited or truncated record gives one
 * sentence naming the file and the field, not a crash later on.
 */
export function readRecord(home = paxosHome()): ClusterRecord | null {
  checkHome(home);
  const file = recordFileOf(home);
  const raw = readRaw(file);
  if (raw === undefined) return null;
  return parseOrThrow(
    ClusterRecordSchema,
    raw,
    file,
    (sentence) => new OperatingError(`${sentence}; fix or remove the file`),
  );
}

/** The stored `cluster` value, unchecked, or undefined when there is none; a file that is not JSON is reported as such. */
function readRaw(file: string): unknown {
  const text = readPrivateFile(file);
  if (text === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (err) {
    throw new OperatingError(`${file} is not valid JSON (${(err as Error).message}); fix or remove the file`);
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as { cluster?: unknown }).cluster : parsed;
}

/** The text of `file`, or null when it does not exist; a link or a file of another user is refused, not followed or believed. */
function readPrivateFile(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileSystemError(err, file, 'read');
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new OperatingError(`${file} is not a regular file; remove it and run the command again`);
    if (uid !== undefined && st.uid !== uid)
      throw new OperatingError(
        `${file} belongs to another user (uid ${st.uid}), so paxos does not trust it; remove it, or set PAXOS_HOME to a directory of your own`,
      );
    return readFileSync(fd, 'utf8');
  } catch (err) {
    throw fileSystemError(err, file, 'read');
  } finally {
    closeSync(fd);
  }
}

export function writeRecord(record: ClusterRecord, home = paxosHome()): void {
  writeStore(home, { cluster: record });
}

/** Forgets the record; a home that was never made is left unmade. */
export function clearRecord(home = paxosHome()): void {
  checkHome(home);
  if (readPrivateFile(recordFileOf(home)) === null) return;
  writeStore(home, {});
}

/**
 * Replaces the record file: a new private file (created, never opened through
 * a link), renamed over the old one, so a reader sees the old record or the
 * new, and a link planted at the name is replaced rather than written through.
 */
function writeStore(home: string, value: object): void {
  ensureHome(home);
  const file = recordFileOf(home);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(value, null, '\t')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw fileSystemError(err, file, 'write');
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
