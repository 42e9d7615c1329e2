/**
 * The cluster record: how a command typed in another terminal finds the
 * running cluster and proves it belongs to it (the secret). Kept with conf in
 * a file only its owner can read (mode 0600).
 */
import Conf from 'conf';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OperatingError } from '../errors.js';
import { paxosHome } from './home.js';
import { ClusterRecordSchema, parseOrThrow, type ClusterRecord } from './schemas.js';

export type { ClusterRecord, ReplicaRecord } from './schemas.js';

function store(home: string): Conf<{ cluster?: ClusterRecord }> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return new Conf<{ cluster?: ClusterRecord }>({
    cwd: home, configName: 'cluster', configFileMode: 0o600, projectName: 'paxos', accessPropertiesByDotNotation: false,
  });
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
    return store(home).get('cluster') as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) throw new OperatingError(`${file} is not valid JSON (${err.message}); fix or remove the file`);
    throw err;
  }
}

export function writeRecord(record: ClusterRecord, home = paxosHome()): void {
  store(home).set('cluster', record);
}

export function clearRecord(home = paxosHome()): void {
  store(home).delete('cluster');
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
