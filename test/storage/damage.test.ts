/**
 * A replica never votes from a log that may have forgotten what it
 * acknowledged, and never refuses one that only lost an unacknowledged tail.
 * Each damage a disk or a person can do (missing, empty, truncated,
 * corrupted, rolled back, header gone, another replica's) is refused with a
 * DataDamagedError (or, for a bad checksum, a StorageCorruptError) naming
 * the file; each state a crash can leave opens. The files are made by hand:
 * what the damage, or the crash, would leave behind.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DataDamagedError,
  encodeFrame,
  type LogOwner,
  logHeader,
  openFileStorage,
  StorageCorruptError,
  StorageFailedError,
} from '../../src/storage/file-storage.js';
import {
  advanceMark,
  checkIdentity,
  IDENTITY_FILE_NAME,
  IdentityError,
  markFileOf,
  readIdentity,
  recordStart,
  watchDataDir,
  writeIdentity,
} from '../../src/storage/identity.js';
import { settle, useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const CLUSTER = '0123456789abcdef';
const OWNER: LogOwner = { clusterId: CLUSTER, node: 2 };
const RECORDS = [1, 2, 3, 4, 5].map((n) => ({ t: 'accept', slot: n, v: `x=${n}` }));

function frames(records: readonly unknown[]): Buffer {
  return Buffer.concat(records.map((r) => encodeFrame(r)));
}

/** A replica's data directory as a good run leaves it: the log with its header and five records, the mark at 5. */
function healthyDir(): { dir: string; log: string } {
  const dir = join(tempDir(), 'node-2');
  mkdirSync(dir, { recursive: true });
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 0 });
  const log = join(dir, 'wal.log');
  writeFileSync(log, Buffer.concat([encodeFrame(logHeader(0, OWNER)), frames(RECORDS)]));
  recordStart(dir, readIdentity(dir)!, RECORDS.length);
  return { dir, log };
}

/** What the replica does at start: check the identity, open the log against its mark. */
async function start(dir: string): Promise<unknown[]> {
  const claim = checkIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true });
  const storage = await openFileStorage<unknown>({ dir, owner: OWNER, mustReach: claim.mustReach });
  const records = [...storage.recovered];
  recordStart(dir, claim.identity, storage.reached);
  await storage.close();
  return records;
}

async function assertDamaged(dir: string, pattern: RegExp, label: string): Promise<void> {
  const before = existsSync(join(dir, 'wal.log')) ? readFileSync(join(dir, 'wal.log')) : null;
  await assert.rejects(start(dir), (err: unknown) => {
    assert.ok(err instanceof DataDamagedError, `${label}: ${String(err)}`);
    assert.match(err.message, pattern, label);
    assert.match(
      err.message,
      /the replica may have forgotten promises it made and values it accepted, so it must not vote from this data$/,
      label,
    );
    assert.ok(!err.message.includes('\n'), `${label}: one sentence`);
    return true;
  });
  const after = existsSync(join(dir, 'wal.log')) ? readFileSync(join(dir, 'wal.log')) : null;
  assert.deepEqual(after, before, `${label}: a refused start leaves the log as it found it`);
}

test('a healthy directory opens with every record, and keeps opening', async () => {
  const { dir } = healthyDir();
  assert.deepEqual(await start(dir), RECORDS);
  assert.deepEqual(await start(dir), RECORDS);
  assert.equal(readIdentity(dir)?.logReached, 5);
});

test('missing: a log deleted after it was created is damage, the directory not recreated', async () => {
  const { dir, log } = healthyDir();
  rmSync(log);
  await assertDamaged(
    dir,
    /wal\.log is missing, though its high-water mark says it had reached record 5/,
    'log deleted',
  );
  assert.equal(existsSync(log), false);
  // The whole directory gone, under a replica whose manifest says nothing (no identity expected): the witness still knows.
  rmSync(dir, { recursive: true });
  await assert.rejects(
    openFileStorage({ dir, mustReach: 5 }),
    (err: unknown) =>
      err instanceof DataDamagedError && /is missing with its whole directory/.test((err as Error).message),
  );
  assert.equal(existsSync(dir), false);
  assert.throws(() => checkIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), IdentityError);
  assert.equal(
    checkIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false }).mustReach,
    5,
    'the witness beside the directory outlives it',
  );
});

test('empty: a log emptied (the amnesia of issue 22) is damage, with or without a mark', async () => {
  const { dir, log } = healthyDir();
  writeFileSync(log, '');
  await assertDamaged(
    dir,
    /wal\.log is empty \(not even its header record is left; it was emptied or cut off\)/,
    'emptied',
  );
  // Even where no mark says a log was made: this code never leaves an empty log behind.
  await assert.rejects(openFileStorage({ dir }), DataDamagedError);
});

test('truncated: a log cut at a frame boundary, or inside an acknowledged record, falls short of its mark', async () => {
  const { dir, log } = healthyDir();
  const whole = readFileSync(log);
  const header = encodeFrame(logHeader(0, OWNER)).length;
  writeFileSync(log, Buffer.concat([whole.subarray(0, header), frames(RECORDS.slice(0, 2))]));
  await assertDamaged(
    dir,
    /reaches only record 2, but its high-water mark says it had reached record 5: it was truncated, or rolled back/,
    'cut at a boundary',
  );
  // Cut inside the last record: frame.ts alone would take it for a crash's torn tail; the mark says it was acknowledged.
  writeFileSync(log, whole);
  truncateSync(log, whole.length - 5);
  await assertDamaged(
    dir,
    /reaches only record 4, but its high-water mark says it had reached record 5/,
    'cut inside the last',
  );
  // Down to the header alone.
  truncateSync(log, header);
  await assertDamaged(dir, /reaches only record 0/, 'header only');
});

test('corrupted: a flipped byte in an acknowledged record is refused, naming the offset', async () => {
  const { dir, log } = healthyDir();
  const bytes = readFileSync(log);
  const offset = encodeFrame(logHeader(0, OWNER)).length + encodeFrame(RECORDS[0]).length;
  bytes[offset + 20] ^= 0x10;
  writeFileSync(log, bytes);
  await assert.rejects(
    start(dir),
    (err: unknown) =>
      err instanceof StorageCorruptError && new RegExp(`is damaged at byte ${offset} `).test((err as Error).message),
  );
  // A damaged header is no header.
  const again = healthyDir();
  const b = readFileSync(again.log);
  b[14]! ^= 0x01;
  writeFileSync(again.log, b);
  await assert.rejects(start(again.dir), StorageCorruptError);
});

test('rolled back: a whole directory copied back from earlier is refused, because the witness beside it is not copied', async () => {
  const { dir } = healthyDir();
  const early = join(tempDir(), 'node-2-copy');
  cpSync(dir, early, { recursive: true });
  // The replica runs on: three more records, the mark following them (here at close).
  const claim = checkIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true });
  let identity = claim.identity;
  const storage = await openFileStorage<unknown>({
    dir,
    owner: OWNER,
    mustReach: claim.mustReach,
    mark: (r) => advanceMark(dir, identity, r),
  });
  identity = recordStart(dir, claim.identity, storage.reached);
  await storage.append([
    { t: 'promise', n: 6 },
    { t: 'promise', n: 7 },
    { t: 'promise', n: 8 },
  ]);
  await storage.close();
  assert.equal(readIdentity(dir)?.logReached, 8);
  // The copy put back, identity and all.
  rmSync(dir, { recursive: true });
  cpSync(early, dir, { recursive: true });
  assert.equal(readIdentity(dir)?.logReached, 5, 'the copy brings its own, older identity');
  await assertDamaged(
    dir,
    /reaches only record 5, but its high-water mark says it had reached record 8: it was truncated, or rolled back to an earlier copy/,
    'directory rolled back',
  );
  // Only the log copied back, the identity kept: the identity alone knows.
  rmSync(markFileOf(dir));
  writeIdentity(dir, { ...identity, logReached: 8 });
  await assertDamaged(
    dir,
    /reaches only record 5, but its high-water mark says it had reached record 8/,
    'log rolled back',
  );
});

test('header missing: a log whose start was cut off, or written without one, is refused', async () => {
  const { dir, log } = healthyDir();
  writeFileSync(log, frames(RECORDS));
  await assertDamaged(dir, /does not start with its header record/, 'no header');
  // The first frames cut off at a boundary: what is left is a valid log of the later records.
  writeFileSync(log, frames(RECORDS.slice(2)));
  await assertDamaged(dir, /does not start with its header record/, 'start cut off');
});

test("another replica's log put in this one's directory is refused", async () => {
  const { dir, log } = healthyDir();
  writeFileSync(log, Buffer.concat([encodeFrame(logHeader(0, { clusterId: CLUSTER, node: 3 })), frames(RECORDS)]));
  await assertDamaged(dir, /is node-3's log of cluster 0123456789abcdef, not node-2's/, "node-3's log");
});

test('a crash at any point of a write, a start or a compaction leaves a replica that opens', async () => {
  // Killed mid-write: a torn tail past the mark is cut off; every acknowledged record stays.
  const a = healthyDir();
  writeFileSync(a.log, Buffer.concat([readFileSync(a.log), encodeFrame({ t: 'accept', slot: 6 }).subarray(0, 9)]));
  assert.deepEqual(await start(a.dir), RECORDS);
  // Written and fsynced, the mark not yet advanced (it follows lazily): the log is past the mark, which is fine.
  const b = healthyDir();
  writeFileSync(b.log, Buffer.concat([readFileSync(b.log), frames([{ t: 'accept', slot: 6 }])]));
  assert.equal((await start(b.dir)).length, 6);
  // The first start, cut short before the log was created, or while it was (only its temporary file), or after it
  // was but before the start was recorded: none of them has voted, and each starts.
  for (const leftover of [null, 'tmp', 'log'] as const) {
    const dir = join(tempDir(), 'node-2');
    writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 0 });
    if (leftover === 'tmp') writeFileSync(join(dir, 'wal.log.tmp'), encodeFrame(logHeader(0, OWNER)).subarray(0, 5));
    if (leftover === 'log') writeFileSync(join(dir, 'wal.log'), encodeFrame(logHeader(0, OWNER)));
    assert.deepEqual(await start(dir), [], `first start cut short (${leftover ?? 'nothing written'})`);
    assert.deepEqual(await start(dir), [], 'and again');
    assert.equal(existsSync(join(dir, 'wal.log.tmp')), false);
  }
  // A compaction cut short after the new log was renamed into place, before the mark followed: the new log reaches as far.
  const c = healthyDir();
  const claim = checkIdentity({ dataDir: c.dir, node: 2, clusterId: CLUSTER, expectData: true });
  const s = await openFileStorage<unknown>({ dir: c.dir, owner: OWNER, mustReach: claim.mustReach });
  await s.checkpoint({ snapshot: [{ slot: 4 }], records: [RECORDS[4]] });
  assert.equal(s.reached, 6, 'a compaction keeps counting: the retained record is written again');
  await s.close();
  assert.deepEqual(await start(c.dir), [RECORDS[4]]);
  assert.equal(readIdentity(c.dir)?.logReached, 6);
});

test('the mark follows the log lazily, only to what is fsynced, and adds no fsync to the write path', async () => {
  const dir = tempDir();
  const marks: number[] = [];
  const storage = await openFileStorage<{ n: number }>({
    dir,
    mark: async (r) => {
      marks.push(r);
    },
    markEveryMs: 20,
  });
  await Promise.all(Array.from({ length: 50 }, (_, n) => storage.append([{ n }])));
  const fsyncs = storage.stats().fsyncs;
  await new Promise((resolve) => setTimeout(resolve, 80));
  await settle();
  assert.equal(marks.at(-1), 50, 'the mark reaches the durable end');
  assert.ok(
    marks.length < fsyncs || marks.length === 1,
    `${marks.length} marks for ${fsyncs} fsyncs: far fewer than writes`,
  );
  assert.deepEqual(
    [...marks].sort((x, y) => x - y),
    marks,
    'and only grows',
  );
  assert.equal(storage.stats().fsyncs, fsyncs, "the log's own fsyncs are unchanged");
  storage.appendLazy([{ n: 50 }]);
  await storage.close();
  assert.equal(marks.at(-1), 51, 'close writes what is queued, then marks it');
});

test('a mark that cannot be written stops the storage: it could not tell a later loss any more', async () => {
  const dir = tempDir();
  const storage = await openFileStorage<{ n: number }>({
    dir,
    mark: async () => {
      throw new Error('ENOENT: no such file or directory');
    },
    markEveryMs: 1,
  });
  await storage.append([{ n: 1 }]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await assert.rejects(storage.append([{ n: 2 }]), StorageFailedError);
  await storage.close().catch(() => undefined);
});

test('a mark is never written over a directory put back or replaced under the running replica', async () => {
  const { dir } = healthyDir();
  const identity = recordStart(
    dir,
    checkIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }).identity,
    5,
  );
  await advanceMark(dir, identity, 6);
  assert.equal(readIdentity(dir)?.logReached, 6);
  writeIdentity(dir, { ...identity, incarnation: identity.incarnation - 1, logReached: 5 });
  await assert.rejects(
    advanceMark(dir, identity, 7),
    (err: unknown) =>
      err instanceof IdentityError &&
      /changed under it while it ran .*incarnation 1, not incarnation 2/.test((err as Error).message),
  );
  assert.equal(readIdentity(dir)?.logReached, 5, 'left as found');
});

test('a directory deleted, or its identity changed, under a running replica stops it with one sentence', async () => {
  for (const change of [
    'deleted',
    'identity removed',
    'identity replaced',
    'directory replaced',
    'log emptied',
  ] as const) {
    const { dir } = healthyDir();
    const identity = readIdentity(dir)!;
    const lost: string[] = [];
    const storage = await openFileStorage<unknown>({ dir, owner: OWNER, mustReach: 5 });
    const stop = watchDataDir(
      dir,
      identity,
      5,
      (sentence) => lost.push(sentence),
      () => storage.stillInPlace(),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(lost.length, 0, `${change}: nothing to say while the directory is its own`);
    if (change === 'deleted') rmSync(dir, { recursive: true });
    if (change === 'identity removed') rmSync(join(dir, IDENTITY_FILE_NAME));
    if (change === 'identity replaced') writeIdentity(dir, { ...identity, node: 3 });
    if (change === 'log emptied') writeFileSync(join(dir, 'wal.log'), '');
    if (change === 'directory replaced') {
      const copy = `${dir}-copy`;
      cpSync(dir, copy, { recursive: true });
      rmSync(dir, { recursive: true });
      cpSync(copy, dir, { recursive: true });
    }
    const deadline = Date.now() + 2000;
    while (lost.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    stop();
    await storage.close();
    assert.equal(lost.length, 1, change);
    assert.match(
      lost[0],
      /^node-2's (data directory|identity|log in) .* while it ran.*; node-2 stops so it does not vote on what it may not remember$/,
      change,
    );
    assert.ok(!lost[0].includes('\n'));
  }
});

test('compactions swapping the log file are never taken for a log lost under the replica', async () => {
  const dir = tempDir();
  const storage = await openFileStorage<unknown>({ dir });
  let polls = 0;
  let lost = 0;
  let running = true;
  const poller = (async () => {
    while (running) {
      if (!(await storage.stillInPlace())) lost++;
      polls++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  for (let i = 0; i < 30; i++) {
    await storage.append([{ n: i }, { n: i + 0.5 }]);
    await storage.checkpoint({ snapshot: [{ slot: i }], records: [{ n: i + 0.5 }] });
  }
  running = false;
  await poller;
  assert.ok(await storage.stillInPlace());
  await storage.close();
  assert.equal(lost, 0, `${lost} of ${polls} checks saw a lost log`);
  assert.ok(polls > 0);
});
