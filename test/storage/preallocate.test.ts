/**
 * A preallocated log: its file runs ahead of its records with zeros, so
 * recovery must tell that room from a torn record, and the checks that find
 * a truncated or damaged log must still find them inside it.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DataDamagedError,
  encodeFrame,
  type FileStorage,
  openFileStorage,
  StorageCorruptError,
} from '../../src/storage/file-storage.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const PREALLOCATE = 1024 * 1024;

interface Rec {
  readonly n: number;
}

async function openLog(dir: string, extra: { mustReach?: number | null; log?: (line: string) => void } = {}) {
  return openFileStorage<Rec>({ dir, preallocateBytes: PREALLOCATE, lazyFlushMs: null, ...extra });
}

/** Appends records 1..count one by one (one group commit each), then closes; returns the valid log's bytes and reach. */
async function filled(count: number): Promise<{ dir: string; validBytes: number; reached: number }> {
  const dir = tempDir();
  const s = await openLog(dir);
  for (let n = 1; n <= count; n++) await s.append([{ n }]);
  const { validBytes, reached } = await closed(s);
  return { dir, validBytes, reached };
}

async function closed(s: FileStorage<Rec>): Promise<{ validBytes: number; reached: number }> {
  const validBytes = s.stats().bytes;
  const reached = s.reached;
  await s.close();
  return { validBytes, reached };
}

test('the file runs ahead of the records with zeros, and a reopen recovers every record and reports nothing', async () => {
  const { dir, validBytes } = await filled(20);
  const path = join(dir, 'wal.log');
  const bytes = readFileSync(path);
  assert.ok(bytes.length > validBytes, `the file (${bytes.length} bytes) holds room past the log (${validBytes})`);
  assert.ok(
    bytes.subarray(validBytes).every((b) => b === 0),
    'the room is zeros',
  );
  const lines: string[] = [];
  const again = await openLog(dir, { log: (line) => lines.push(line) });
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.deepEqual(lines, [], 'room left by preallocation is not a torn record');
  // Writes go on where the records end, over the zeros, and survive the next reopen.
  await again.append([{ n: 21 }]);
  await again.close();
  assert.equal(statSync(path).size >= bytes.length, true, 'the room is kept, not cut off');
  const third = await openLog(dir);
  assert.deepEqual(third.recovered.at(-1), { n: 21 });
  assert.equal(third.recovered.length, 21);
  await third.close();
});

test('a torn record inside the preallocated room is cut off and named; the acknowledged ones stay', async () => {
  const { dir, validBytes } = await filled(5);
  const path = join(dir, 'wal.log');
  const bytes = readFileSync(path);
  // A crash mid-write: the first bytes of the next frame landed on the zeros, the rest did not.
  encodeFrame({ n: 6 }).copy(bytes, validBytes, 0, 15);
  writeFileSync(path, bytes);
  const lines: string[] = [];
  const again = await openLog(dir, { log: (line) => lines.push(line) });
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    [1, 2, 3, 4, 5],
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', new RegExp(`cut off a torn final record of 15 bytes at byte ${validBytes} `));
  await again.append([{ n: 6 }]);
  await again.close();
  const third = await openLog(dir);
  assert.deepEqual(
    third.recovered.map((r) => r.n),
    [1, 2, 3, 4, 5, 6],
  );
  await third.close();
});

test('a log cut inside its records falls short of its mark, though zeros follow it', async () => {
  const { dir, validBytes, reached } = await filled(5);
  const path = join(dir, 'wal.log');
  const bytes = readFileSync(path);
  // The last acknowledged record zeroed where it lies: frame.ts alone takes it for room; the mark does not.
  bytes.fill(0, validBytes - encodeFrame({ n: 5 }).length, validBytes);
  writeFileSync(path, bytes);
  await assert.rejects(openLog(dir, { mustReach: reached }), (err: unknown) => {
    assert.ok(err instanceof DataDamagedError, String(err));
    assert.match(err.message, /reaches only record 4, but its high-water mark says it had reached record 5/);
    return true;
  });
  // Cut at a byte inside the records.
  truncateSync(path, validBytes - 3);
  await assert.rejects(openLog(dir, { mustReach: reached }), DataDamagedError);
});

test('a flipped byte in an acknowledged record of a preallocated log is refused', async () => {
  const { dir, validBytes } = await filled(5);
  const path = join(dir, 'wal.log');
  const bytes = readFileSync(path);
  const at = validBytes - encodeFrame({ n: 4 }).length - 3;
  bytes[at] = (bytes[at] ?? 0) ^ 0x20;
  writeFileSync(path, bytes);
  await assert.rejects(openLog(dir), StorageCorruptError);
});

test('many group commits past the first room keep their order across the extension', async () => {
  const dir = tempDir();
  const s = await openLog(dir);
  const big = 'v'.repeat(4000);
  // About 1.2 MiB of records: past the first room and into the next extensions, with appends racing the zeros.
  const pending: Promise<void>[] = [];
  for (let n = 1; n <= 300; n++) pending.push(s.append([{ n, big } as Rec]));
  await Promise.all(pending);
  await s.close();
  const again = await openLog(dir);
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  await again.close();
});

test('a checkpoint replaces a preallocated log, and writes after it are recovered', async () => {
  const dir = tempDir();
  const s = await openLog(dir);
  for (let n = 1; n <= 5; n++) await s.append([{ n }]);
  await s.checkpoint({ snapshot: [{ at: 5 }], records: [{ n: 5 }] });
  await s.append([{ n: 6 }]);
  await s.close();
  const again = await openLog(dir);
  assert.deepEqual(again.recoveredSnapshot, [{ at: 5 }]);
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    [5, 6],
  );
  await again.close();
});
