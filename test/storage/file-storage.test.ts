/**
 * The file log's contract with the replica: records come back across
 * restarts in order, concurrent appends share fsyncs, nothing resolves
 * before it is durable, a failed write fails every waiter, and one data
 * directory belongs to one live process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  decodeLog,
  FileStorage,
  MAX_RECORD_BYTES,
  openFileStorage,
  StorageError,
  StorageFailedError,
  StorageLockedError,
} from '../../src/storage/file-storage.js';
import { parseLockText } from '../../src/storage/lock.js';
import { ScriptedFile, settle, useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();

/** A FileStorage over a scripted file; `released` counts lock releases. */
function scripted(file: ScriptedFile): { storage: FileStorage<{ n: number }>; released: () => number } {
  let releases = 0;
  const storage = new FileStorage<{ n: number }>({
    recovered: [],
    file,
    path: '/data/wal.log',
    sizeBytes: 0,
    releaseLock: () => releases++,
  });
  return { storage, released: () => releases };
}

test('records come back in order across several close and reopen cycles', async () => {
  const dir = tempDir();
  const first = await openFileStorage<{ n: number }>({ dir });
  await first.append([{ n: 1 }]);
  await first.append([{ n: 2 }, { n: 3 }]);
  await first.close();
  const second = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(second.recovered, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  await second.append([{ n: 4 }]);
  const { records, bytes } = second.stats();
  await second.close();
  assert.equal(records, 4);
  assert.equal(bytes, statSync(join(dir, 'wal.log')).size);
  const third = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(
    third.recovered.map((r) => r.n),
    [1, 2, 3, 4],
  );
  await third.close();
});

test('100 concurrent appends share a few fsyncs (group commit) and keep their order', async () => {
  const dir = tempDir();
  const storage = await openFileStorage<{ n: number }>({ dir });
  await Promise.all(Array.from({ length: 100 }, (_, n) => storage.append([{ n }])));
  const { fsyncs, appends, records } = storage.stats();
  console.log(
    `group commit: ${appends} appends, ${fsyncs} fsyncs (${(fsyncs / appends).toFixed(2)} fsyncs per append)`,
  );
  assert.equal(appends, 100);
  assert.equal(records, 100);
  assert.ok(fsyncs <= appends / 10, `${fsyncs} fsyncs for ${appends} appends`);
  await storage.close();
  const again = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    Array.from({ length: 100 }, (_, n) => n),
  );
  await again.close();
});

test('appends made during an fsync wait for it, then go out in one write and one fsync', async () => {
  const file = new ScriptedFile();
  file.holdSyncs = true;
  const { storage } = scripted(file);
  const resolved: number[] = [];
  const first = storage.append([{ n: 0 }]).then(() => resolved.push(0));
  await settle();
  const later = [1, 2, 3].map((n) => storage.append([{ n }]).then(() => resolved.push(n)));
  await settle();
  assert.equal(file.writes.length, 1, 'nothing more is written while the first fsync runs');
  assert.deepEqual(resolved, [], 'nothing resolves before its fsync returns');
  file.releaseSync();
  await first;
  await settle();
  assert.equal(file.heldSyncs, 1);
  assert.deepEqual(resolved, [0], 'the later appends wait for their own fsync');
  file.releaseSync();
  await Promise.all(later);
  assert.equal(file.writes.length, 2);
  assert.equal(file.syncs, 2);
  assert.deepEqual(decodeLog(file.writes[1], 'x').records, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  assert.deepEqual(resolved, [0, 1, 2, 3]);
});

test('a short write is finished before the fsync', async () => {
  const file = new ScriptedFile();
  file.maxWriteBytes = 7;
  const { storage } = scripted(file);
  const records = Array.from({ length: 5 }, (_, n) => ({ n }));
  await storage.append(records);
  assert.ok(file.writes.length > 5);
  assert.deepEqual(decodeLog(file.durable, 'x').records, records);
});

test('a failed fsync fails every waiting append and every later one', async () => {
  const file = new ScriptedFile();
  file.holdSyncs = true;
  file.failSyncNumber = 2;
  const { storage, released } = scripted(file);
  const ok = storage.append([{ n: 0 }]);
  await settle();
  const doomed = [storage.append([{ n: 1 }]), storage.append([{ n: 2 }])];
  file.releaseSync();
  await ok;
  await settle();
  const third = storage.append([{ n: 3 }]); // queued behind the failing fsync
  file.releaseSync();
  for (const p of [...doomed, third]) {
    await assert.rejects(
      p,
      (err: Error) => err instanceof StorageFailedError && /\/data\/wal\.log: EIO/.test(err.message),
    );
  }
  await assert.rejects(storage.append([{ n: 4 }]), StorageFailedError);
  storage.appendLazy([{ n: 5 }]);
  assert.equal(storage.stats().fsyncs, 1, 'only the first fsync counts');
  await storage.close();
  assert.ok(file.closed);
  assert.equal(released(), 1);
});

test('lazy records ride along with the next append, or are written by close', async () => {
  const dir = tempDir();
  const storage = await openFileStorage<{ n: number }>({ dir });
  storage.appendLazy([{ n: 1 }]);
  await storage.append([{ n: 2 }]);
  assert.equal(storage.stats().fsyncs, 1, 'one fsync for both');
  storage.appendLazy([{ n: 3 }]);
  await storage.close();
  const again = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(
    again.recovered.map((r) => r.n),
    [1, 2, 3],
  );
  await again.close();
});

test('lazy records alone are written by the idle timer', async () => {
  const file = new ScriptedFile();
  const { storage } = scripted(file);
  storage.appendLazy([{ n: 1 }]);
  // The timer fires within tens of milliseconds; wait for it, bounded.
  for (let i = 0; i < 500 && file.syncs === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(decodeLog(file.durable, 'x').records, [{ n: 1 }]);
  await storage.close();
});

test('append rejects after close, and a record too large for the log rejects its whole call', async () => {
  const dir = tempDir();
  const storage = await openFileStorage<{ n: number; pad?: string }>({ dir });
  await assert.rejects(storage.append([{ n: 1 }, { n: 2, pad: 'x'.repeat(MAX_RECORD_BYTES) }]), RangeError);
  await storage.append([{ n: 3 }]);
  await storage.close();
  await storage.close();
  await assert.rejects(storage.append([{ n: 4 }]), /is closed/);
  const again = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(again.recovered, [{ n: 3 }]);
  await again.close();
});

test('the data directory is made 0700, a new one and an existing one', async () => {
  const fresh = join(tempDir(), 'a', 'b');
  const s1 = await openFileStorage({ dir: fresh });
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
  await s1.close();
  const existing = join(tempDir(), 'open');
  mkdirSync(existing, { mode: 0o755 });
  chmodSync(existing, 0o755);
  const s2 = await openFileStorage({ dir: existing });
  assert.equal(statSync(existing).mode & 0o777, 0o700);
  await s2.close();
});

test('a data directory that is a file is refused in one sentence', async () => {
  const path = join(tempDir(), 'file');
  writeFileSync(path, 'x');
  await assert.rejects(
    openFileStorage({ dir: path }),
    (err: Error) => err instanceof StorageError && err.message.startsWith(`cannot use ${path} as a data directory`),
  );
});

test('a second open of a directory is refused until the first closes', async () => {
  const dir = tempDir();
  const s = await openFileStorage({ dir });
  assert.equal(parseLockText(readFileSync(join(dir, 'LOCK'), 'utf8'))?.pid, process.pid);
  await assert.rejects(
    openFileStorage({ dir }),
    (err: Error) =>
      err instanceof StorageLockedError && err.message === `data directory ${dir} is in use by process ${process.pid}`,
  );
  await s.close();
  assert.ok(!existsSync(join(dir, 'LOCK')), 'close releases the lock');
  const again = await openFileStorage({ dir });
  await again.close();
});

test('a lock held by another live process is respected; a dead one is taken over', async () => {
  const dir = tempDir();
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    writeFileSync(join(dir, 'LOCK'), `${sleeper.pid}\n`);
    await assert.rejects(
      openFileStorage({ dir }),
      (err: Error) => err instanceof StorageLockedError && err.message.includes(`process ${sleeper.pid}`),
    );
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8').trim(), String(sleeper.pid), 'a live lock is left alone');
  } finally {
    sleeper.kill('SIGKILL');
  }
  await new Promise((resolve) => sleeper.once('exit', resolve));
  const taken = await openFileStorage({ dir });
  assert.equal(parseLockText(readFileSync(join(dir, 'LOCK'), 'utf8'))?.pid, process.pid);
  await taken.close();
  writeFileSync(join(dir, 'LOCK'), 'not a pid');
  const again = await openFileStorage({ dir });
  await again.close();
});

test("close leaves alone a lock that is no longer this process's", async () => {
  const dir = tempDir();
  const s = await openFileStorage({ dir });
  writeFileSync(join(dir, 'LOCK'), '1\n');
  await s.close();
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), '1\n');
});

test('the log is written with O_DSYNC: each write is durable as it returns, so a group commit needs no fdatasync', async (t) => {
  if (process.platform !== 'linux') return t.skip('reads the open flags from /proc');
  const dir = tempDir();
  const storage = await openFileStorage<{ n: number }>({ dir });
  await storage.append([{ n: 1 }]);
  // The log's descriptor is the one open on wal.log: its flags (octal, in fdinfo) carry O_DSYNC.
  const fds = readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === join(dir, 'wal.log');
    } catch {
      return false; // The directory's own descriptor, closed while it was listed.
    }
  });
  assert.equal(fds.length, 1);
  const flags = Number.parseInt(
    /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fds[0]}`, 'utf8'))?.[1] ?? '0',
    8,
  );
  assert.equal(flags & constants.O_DSYNC, constants.O_DSYNC);
  await storage.close();
});

test('a file whose writes are durable resolves an append after the write alone; one that is not, after its fdatasync', async () => {
  for (const writesAreDurable of [true, false]) {
    const file = new ScriptedFile();
    file.holdSyncs = true;
    const storage = new FileStorage<{ n: number }>({
      recovered: [],
      file,
      path: '/data/wal.log',
      sizeBytes: 0,
      releaseLock: () => undefined,
      writesAreDurable,
    });
    let done = false;
    const appended = storage.append([{ n: 1 }]).then(() => {
      done = true;
    });
    await settle();
    assert.equal(file.writes.length, 1);
    assert.equal(done, writesAreDurable, `writesAreDurable ${writesAreDurable}`);
    assert.equal(file.heldSyncs, writesAreDurable ? 0 : 1);
    if (!writesAreDurable) file.releaseSync();
    await appended;
    assert.equal(storage.stats().fsyncs, 1);
    await storage.close();
  }
});
