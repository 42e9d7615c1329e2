/**
 * The record log must never come back with less than was acknowledged:
 * every crash point of a write, every truncation and every single-bit flip
 * either keeps every acknowledged record or refuses to start, naming the
 * file and the offset of the damage. Every log starts with its header record
 * (damage.test.ts has what happens without one).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  DataDamagedError,
  encodeFrame,
  logHeader,
  MAX_RECORD_BYTES,
  openFileStorage,
  StorageCorruptError,
} from '../../src/storage/file-storage.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();

const ACKED = [
  { t: 'promise', ballot: { round: 1, node: 2 } },
  { t: 'accept', slot: 1, ballot: { round: 1, node: 2 }, v: 'x=7' },
  { t: 'round', round: 4 },
];
const LAST = { t: 'accept', slot: 2, ballot: { round: 4, node: 2 }, v: 'y=8' };
/** The header first, as every log has it: a flip in it is damage like a flip in any acknowledged record. */
const ACKED_FRAMES = [encodeFrame(logHeader(0)), ...ACKED.map((r) => encodeFrame(r))];
const ACKED_BYTES = Buffer.concat(ACKED_FRAMES);
const LAST_FRAME = encodeFrame(LAST);

type Outcome = { readonly records: unknown[]; readonly logLines: string[] } | { readonly error: unknown };

/** Writes `bytes` as the log of `dir` (a fresh directory unless given) and opens it once. */
async function openWith(bytes: Buffer, dir = tempDir()): Promise<Outcome & { dir: string; path: string }> {
  const path = join(dir, 'wal.log');
  writeFileSync(path, bytes);
  const logLines: string[] = [];
  try {
    const storage = await openFileStorage({ dir, log: (line) => logLines.push(line) });
    const records = [...storage.recovered];
    await storage.close();
    return { records, logLines, dir, path };
  } catch (error) {
    return { error, dir, path };
  }
}

async function recover(bytes: Buffer): Promise<unknown[]> {
  const outcome = await openWith(bytes);
  if ('error' in outcome) throw outcome.error;
  return outcome.records;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Asserts a refusal that names the file and the exact offset of the bad frame. */
function assertRefused(outcome: Outcome & { path: string }, offset: number, label: string): void {
  assert.ok('error' in outcome, `${label}: opened a damaged log instead of refusing`);
  const err = outcome.error;
  assert.ok(err instanceof StorageCorruptError, `${label}: ${String(err)}`);
  const expected = new RegExp(
    `^${escapeRegExp(outcome.path)} is damaged at byte ${offset} \\(.+\\); refusing to start so no acknowledged state is lost$`,
  );
  assert.match(err.message, expected, label);
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

test('every crash point of a write keeps every acknowledged record', async () => {
  // Before the write: only the acknowledged records are there.
  assert.deepEqual(await recover(ACKED_BYTES), ACKED);
  // Killed inside the write: a short tail, cut off.
  for (const cut of [1, 5, 12, 20, LAST_FRAME.length - 1]) {
    assert.deepEqual(await recover(Buffer.concat([ACKED_BYTES, LAST_FRAME.subarray(0, cut)])), ACKED, `cut at ${cut}`);
  }
  // After the write, before the fsync; and after the fsync, before the reply: the record is whole, so it is kept.
  assert.deepEqual(await recover(Buffer.concat([ACKED_BYTES, LAST_FRAME])), [...ACKED, LAST]);
  // Power lost after the write, before the fsync: the file grew but holds zeros.
  assert.deepEqual(await recover(Buffer.concat([ACKED_BYTES, Buffer.alloc(LAST_FRAME.length)])), ACKED);
});

test('every truncation of the last record recovers exactly the acknowledged prefix', async () => {
  for (let cut = 0; cut <= LAST_FRAME.length; cut++) {
    const outcome = await openWith(Buffer.concat([ACKED_BYTES, LAST_FRAME.subarray(0, cut)]));
    assert.ok(!('error' in outcome), `cut at ${cut}: ${'error' in outcome ? String(outcome.error) : ''}`);
    const whole = cut === LAST_FRAME.length;
    assert.deepEqual(outcome.records, whole ? [...ACKED, LAST] : ACKED, `cut at ${cut}`);
    assert.equal(
      statSync(outcome.path).size,
      ACKED_BYTES.length + (whole ? cut : 0),
      `cut at ${cut}: the torn tail is cut off the file`,
    );
    if (cut === 0 || whole) {
      assert.deepEqual(outcome.logLines, [], `cut at ${cut}: nothing to report`);
    } else {
      assert.equal(outcome.logLines.length, 1, `cut at ${cut}`);
      assert.ok(
        outcome.logLines[0].includes(outcome.path) && outcome.logLines[0].includes(`at byte ${ACKED_BYTES.length}`),
        outcome.logLines[0],
      );
    }
  }
});

test('a log recovered from a torn tail takes new records cleanly after the cut', async () => {
  const dir = tempDir();
  await openWith(Buffer.concat([ACKED_BYTES, LAST_FRAME.subarray(0, 17)]), dir);
  const storage = await openFileStorage({ dir });
  await storage.append([LAST]);
  await storage.close();
  const again = await openFileStorage({ dir });
  assert.deepEqual(again.recovered, [...ACKED, LAST]);
  await again.close();
});

test('every bit flip in the last record keeps all acknowledged records or refuses to start', async () => {
  const dir = tempDir();
  const intact = Buffer.concat([ACKED_BYTES, LAST_FRAME]);
  let refused = 0;
  for (let bit = 0; bit < LAST_FRAME.length * 8; bit++) {
    const damaged = flipBit(intact, ACKED_BYTES.length * 8 + bit);
    const outcome = await openWith(damaged, dir);
    if ('error' in outcome) {
      assertRefused(outcome, ACKED_BYTES.length, `bit ${bit}`);
      assert.ok(readFileSync(outcome.path).equals(damaged), `bit ${bit}: a refused log is left untouched`);
      assert.ok(!existsSync(join(dir, 'LOCK')), `bit ${bit}: a refused open releases the lock`);
      refused++;
    } else {
      // Dropping the damaged record is the most recovery may do; it may never read it as some other record.
      assert.deepEqual(outcome.records, ACKED, `bit ${bit}`);
    }
  }
  console.log(
    `last record: ${refused} of ${LAST_FRAME.length * 8} single-bit flips refused, the rest kept every acknowledged record`,
  );
  assert.ok(refused > 0, 'a damaged complete record must be refused, not dropped');
});

test("every bit flip in an earlier record refuses to start, naming the file and that record's offset", async () => {
  const dir = tempDir();
  const intact = Buffer.concat([ACKED_BYTES, LAST_FRAME]);
  let frameStart = 0;
  let flips = 0;
  for (const frame of ACKED_FRAMES) {
    for (let bit = 0; bit < frame.length * 8; bit++) {
      assertRefused(
        await openWith(flipBit(intact, frameStart * 8 + bit), dir),
        frameStart,
        `frame at ${frameStart}, bit ${bit}`,
      );
      flips++;
    }
    frameStart += frame.length;
  }
  assert.equal(flips, ACKED_BYTES.length * 8);
});

test('a zero-filled tail (power lost after the write, before the fsync) is cut off', async () => {
  const zeros = (n: number) => Buffer.alloc(n);
  const cases: [string, Buffer, unknown[]][] = [
    ['a whole frame of zeros', zeros(LAST_FRAME.length), ACKED],
    [
      'the header written, the payload not',
      Buffer.concat([LAST_FRAME.subarray(0, 20), zeros(LAST_FRAME.length - 20)]),
      ACKED,
    ],
    ['part of the header written', Buffer.concat([LAST_FRAME.subarray(0, 6), zeros(LAST_FRAME.length - 6)]), ACKED],
    ['a whole record, then zeros', Buffer.concat([LAST_FRAME, zeros(100)]), [...ACKED, LAST]],
    // One batch of two frames whose pages only partly reached the disk: the zeros run past the first frame's end.
    [
      'a half-written batch',
      Buffer.concat([LAST_FRAME.subarray(0, 25), zeros(LAST_FRAME.length - 25 + LAST_FRAME.length)]),
      ACKED,
    ],
  ];
  for (const [label, tail, expected] of cases) {
    const outcome = await openWith(Buffer.concat([ACKED_BYTES, tail]));
    assert.ok(!('error' in outcome), `${label}: ${'error' in outcome ? String(outcome.error) : ''}`);
    assert.deepEqual(outcome.records, expected, label);
    assert.equal(outcome.logLines.length, 1, `${label}: the cut is reported`);
  }
});

test('zeros with data after them are damage, not a torn tail', async () => {
  const holeThenData = Buffer.concat([ACKED_BYTES, Buffer.alloc(LAST_FRAME.length), LAST_FRAME]);
  assertRefused(await openWith(holeThenData), ACKED_BYTES.length, 'a hole of zeros before a record');
  const zeroedMiddle = Buffer.from(LAST_FRAME);
  zeroedMiddle.fill(0, 14, LAST_FRAME.length - 3);
  assertRefused(
    await openWith(Buffer.concat([ACKED_BYTES, zeroedMiddle])),
    ACKED_BYTES.length,
    'a last record zeroed in its middle',
  );
});

test('a length beyond the record limit is damage even when its header checksum holds', async () => {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(MAX_RECORD_BYTES + 1, 0);
  header.writeUInt32LE(0, 4);
  header.writeUInt32LE(crc32(header.subarray(0, 8)), 8);
  const outcome = await openWith(Buffer.concat([ACKED_BYTES, header, Buffer.from('{"t":"x"}')]));
  assertRefused(outcome, ACKED_BYTES.length, 'oversized length');
  assert.match(String((outcome as { error: Error }).error.message), /impossible record length/);
});

test('a checksummed record that is not JSON is damage', async () => {
  const payload = Buffer.from('{"t":"promise",');
  const frame = Buffer.alloc(12 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.writeUInt32LE(crc32(frame.subarray(0, 8)), 8);
  payload.copy(frame, 12);
  assertRefused(await openWith(Buffer.concat([ACKED_BYTES, frame, LAST_FRAME])), ACKED_BYTES.length, 'not JSON');
});

test('a missing log is created with its header and opens with nothing recovered; an empty one is damage', async () => {
  await assert.rejects(recover(Buffer.alloc(0)), DataDamagedError);
  assert.deepEqual(await recover(encodeFrame(logHeader(0))), []);
  const dir = tempDir();
  const storage = await openFileStorage({ dir, fileName: 'other.log' });
  assert.deepEqual(storage.recovered, []);
  assert.equal(storage.path, join(dir, 'other.log'));
  await storage.close();
  assert.equal(statSync(join(dir, 'other.log')).mode & 0o777, 0o600);
});
