/**
 * The cluster record: how a command typed in another terminal finds the
 * running cluster and proves it belongs to it (the secret). Kept in
 * cluster.json (`{"cluster": …}`, the layout conf wrote before) in a file only
 * its owner can read (mode 0600), replaced whole by a rename.
 *
 * Read and written here with node:fs rather than through conf: every
 * `paxos propose` reads the record, and loading conf (with ajv, atomically and
 * their dependencies) cost more start-up time than the rest of the command.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OperatingError } from '../errors.js';
import { paxosHome } from './home.js';
import { ClusterRecordSchema, parseOrThrow, type ClusterRecord } from './schemas.js';

export type { ClusterRecord, ReplicaRecord } from './schemas.js';

interface Stored { cluster?: ClusterRecord }

/** The file's contents, or an empty store when there is no file yet. Reading creates the home (0700), as conf did. */
function readStore(file: string): Stored {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  const data = JSON.parse(text) as unknown;
  return typeof data === 'object' && data !== null ? { ...data } : {};
}

/** Writes the whole store to a temporary file, syncs it, and renames it over the record, so a reader never sees half of one. */
function writeStore(home: string, data: Stored): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, 'cluster.json');
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(data, undefined, '\t'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The record of the cluster running from `home`, or null when there is none.
 * The file is checked against the schema: a hand-edited or truncated record
 * gives one sentence naming the file and the field, not a crash later on.
 */
export function readRecord(home = paxosHome()): ClusterRecord | null {
  const file = join(home, 'cluster.json');
  const raw = readRaw(home, file);
  if (raw === undefined) return null;
  return parseOrThrow(ClusterRecordSchema, raw, file, (sentence) => new OperatingError(`${sentence}; fix or remove the file`));
}

/** The stored `cluster` value, unchecked; a file that is not JSON is reported as such. */
function readRaw(home: string, file: string): unknown {
  try {
    return readStore(file).cluster as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) throw new OperatingError(`${file} is not valid JSON (${err.message}); fix or remove the file`);
    throw err;
  }
}

export function writeRecord(record: ClusterRecord, home = paxosHome()): void {
  writeStore(home, { ...readStore(join(home, 'cluster.json')), cluster: record });
}

export function clearRecord(home = paxosHome()): void {
  const { cluster: _gone, ...rest } = readStore(join(home, 'cluster.json'));
  writeStore(home, rest);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
