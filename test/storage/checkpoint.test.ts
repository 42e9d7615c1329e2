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

/** A snapshot of `parts` parts of 256 KiB each: big enough that writing it takes many group commits' time. */
function bigSnapshot(parts: number): unknown[] {
  return Array.from({ length: parts }, (_, i) => ({ part: i, filler: 'x'.repeat(256 * 1024) }));
}

test('a compaction writes its snapshot beside the log: appends go on meanwhile and are carried into the new log', async () => {
  const dir = tempDir();
  const { before, retained } = history();
  const snapshot = bigSnapshot(64);
  const s = await openFileStorage<MultiRecord>({ dir });
  await s.append(before);
  let compacted = false;
  const cp = s.checkpoint({ compaction: true, snapshot, records: retained }).then(() => {
    compacted = true;
  });
  // Appends one after another while the 16 MiB snapshot is written; each is durable on its own, not after it.
  const meanwhile: MultiRecord[] = [];
  for (let round = 10; round < 10_000 && !compacted; round++) {
    const record: MultiRecord = { t: 'round', round };
    await s.append([record]);
    if (!compacted) meanwhile.push(record);
  }
  await cp;
  assert.ok(meanwhile.length > 0, 'no append was durable before the compaction ended: the log waited for its snapshot');
  const after: MultiRecord = { t: 'round', round: 10_000 };
  await s.append([after]);
  await s.close();
  const again = await openFileStorage<MultiRecord>({ dir });
  // The new log: the retained records, what was written while the snapshot was, and what came after the swap.
  const recovered = again.recovered.filter((r) => r.t !== 'round' || r.round < 10 || r.round >= 10_000);
  assert.deepEqual(recovered, [...retained, after]);
  const carried = again.recovered.filter((r) => r.t === 'round' && r.round >= 10 && r.round < 10_000);
  assert.deepEqual(carried.slice(0, meanwhile.length), meanwhile);
  assert.equal(again.recoveredSnapshot?.length, snapshot.length);
  await again.close();
});

test('a compaction cut short with its snapshot in place: the old log, with what was written meanwhile, recovers', async () => {
  const dir = tempDir();
  const { before, snapshot, retained } = history();
  const meanwhile: MultiRecord[] = [{ t: 'round', round: 2 }];
  writeFileSync(join(dir, 'wal.log'), logFile([...before, ...meanwhile]));
  writeFileSync(join(dir, 'snapshot'), frames(snapshot));
  const s = await openFileStorage<MultiRecord>({ dir });
  const fromOldLog = recoverMulti(s.recovered, s.recoveredSnapshot);
  const fromNewLog = recoverMulti([...retained, ...meanwhile], snapshot);
  await s.close();
  assert.deepEqual([...fromOldLog.accepted], [...fromNewLog.accepted]);
  assert.deepEqual([...fromOldLog.chosen], [...fromNewLog.chosen]);
  assert.equal(fromOldLog.round, 2);
  assert.deepEqual(fromOldLog.snapshot, fromNewLog.snapshot);
});
