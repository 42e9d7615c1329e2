/**
 * Compaction on disk: a checkpoint replaces the snapshot and the whole log,
 * in order with the appends around it, and a crash at any point of it leaves
 * files a replica recovers from without losing anything that was durable.
 * The crash points are made by hand: the files a crash would leave behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { recoverMulti } from '../../src/core/multi/durable.js';
import type { MultiRecord } from '../../src/core/multi/messages.js';
import { snapshotParts } from '../../src/core/multi/snapshot-parts.js';
import { encodeFrame, logHeader, openFileStorage, StorageCorruptError } from '../../src/storage/file-storage.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const B = (round: number, node: number) => ({ round, node });
const cmd = (slot: number, key: string, value: string) => ({
  slot,
  value: {
    kind: 'cmd' as const,
    id: `s:${slot}`,
    identity: { session: 's', seq: slot },
    base: 1,
    origin: 1,
    command: { op: 'set' as const, key, value },
  },
});

/** A log of five chosen slots accepted at 1.1, and the checkpoint a replica would write after applying the first four. */
function history(): { before: MultiRecord[]; snapshot: unknown[]; retained: MultiRecord[] } {
  const entries = [cmd(1, 'a', '1'), cmd(2, 'b', '2'), cmd(3, 'a', '3'), cmd(4, 'c', '4'), cmd(5, 'd', '5')];
  const before: MultiRecord[] = [
    { t: 'round', round: 1 },
    { t: 'promise', ballot: B(1, 1) },
    { t: 'accept', ballot: B(1, 1), entries },
    { t: 'chosen', entries },
  ];
  const snapshot = snapshotParts({
    slot: 4,
    kv: [
      ['a', '3'],
      ['b', '2'],
      ['c', '4'],
    ],
    sessions: [],
    applied: [1, 2, 3, 4].map((seq) => ({
      session: 's',
      seq,
      slot: seq,
      command: JSON.stringify(['set', 'k', String(seq)]),
    })),
    membership: { epoch: 0, voters: [1, 2, 3], startSlot: 1 },
  });
  const retained: MultiRecord[] = [
    { t: 'round', round: 1 },
    { t: 'promise', ballot: B(1, 1) },
    { t: 'accept', ballot: B(1, 1), entries: [entries[4]] },
    { t: 'chosen', entries: [entries[4]] },
  ];
  return { before, snapshot, retained };
}

function frames(records: readonly unknown[]): Buffer {
  return Buffer.concat(records.map((r) => encodeFrame(r)));
}

/** A log file as written: its header (`base` records before its first), then its records. */
function logFile(records: readonly unknown[], base = 0): Buffer {
  return Buffer.concat([encodeFrame(logHeader(base)), frames(records)]);
}

test('a checkpoint replaces the log and the snapshot, and appends after it land in the new log', async () => {
  const dir = tempDir();
  const { before, snapshot, retained } = history();
  const s = await openFileStorage<MultiRecord>({ dir });
  await s.append(before);
  // Queued together: the append before the checkpoint must be written first, the one after into the new log.
  const early = s.append([{ t: 'round', round: 2 }]);
  const cp = s.checkpoint({ snapshot, records: retained });
  const late = s.append([{ t: 'round', round: 3 }]);
  await Promise.all([early, cp, late]);
  assert.equal(s.stats().checkpoints, 1);
  await s.close();
  const again = await openFileStorage<MultiRecord>({ dir });
  assert.deepEqual(again.recovered, [...retained, { t: 'round', round: 3 }]);
  assert.deepEqual(again.recoveredSnapshot, snapshot);
  await again.close();
  const state = recoverMulti([...retained, { t: 'round', round: 3 }], snapshot);
  assert.equal(state.snapshot?.slot, 4);
  assert.deepEqual([...state.accepted.keys()], [5]);
  assert.equal(state.round, 3);
});

test('crash before the snapshot is renamed: the temporary file is discarded and the old log is whole', async () => {
  const dir = tempDir();
  const { before, snapshot } = history();
  writeFileSync(join(dir, 'wal.log'), logFile(before));
  writeFileSync(join(dir, 'snapshot.tmp'), frames(snapshot).subarray(0, 10));
  const s = await openFileStorage<MultiRecord>({ dir });
  assert.deepEqual(s.recovered, before);
  assert.equal(s.recoveredSnapshot, null);
  assert.equal(existsSync(join(dir, 'snapshot.tmp')), false);
  await s.close();
});

test('crash between the snapshot and the log: the old log beside the new snapshot recovers the same state', async () => {
  const dir = tempDir();
  const { before, snapshot, retained } = history();
  writeFileSync(join(dir, 'wal.log'), logFile(before));
  writeFileSync(join(dir, 'snapshot'), frames(snapshot));
  writeFileSync(join(dir, 'wal.log.tmp'), logFile(retained, before.length).subarray(0, 7));
  const s = await openFileStorage<MultiRecord>({ dir });
  assert.equal(existsSync(join(dir, 'wal.log.tmp')), false);
  const fromOldLog = recoverMulti(s.recovered, s.recoveredSnapshot);
  const fromNewLog = recoverMulti(retained, snapshot);
  await s.close();
  assert.deepEqual([...fromOldLog.accepted], [...fromNewLog.accepted]);
  assert.deepEqual([...fromOldLog.chosen], [...fromNewLog.chosen]);
  assert.deepEqual(fromOldLog.promised, fromNewLog.promised);
  assert.deepEqual(fromOldLog.snapshot, fromNewLog.snapshot);
});

test('a snapshot cut short is damage, not a crash: the replica refuses to start', async () => {
  const dir = tempDir();
  const { before, snapshot } = history();
  writeFileSync(join(dir, 'wal.log'), logFile(before));
  const whole = frames(snapshot);
  writeFileSync(join(dir, 'snapshot'), whole.subarray(0, whole.length - 3));
  await assert.rejects(
    openFileStorage<MultiRecord>({ dir }),
    (err: unknown) => err instanceof StorageCorruptError && /cut short/.test((err as Error).message),
  );
});

test('after a checkpoint the log on disk holds only the retained records', async () => {
  const dir = tempDir();
  const { before, snapshot, retained } = history();
  const s = await openFileStorage<MultiRecord>({ dir });
  await s.append(before);
  await s.checkpoint({ snapshot, records: retained });
  await s.close();
  // The new log's header goes on counting where the old log reached: its reach only grows.
  assert.deepEqual(readFileSync(join(dir, 'wal.log')), logFile(retained, before.length));
  assert.equal(s.stats().bytes, logFile(retained, before.length).length);
});
