/**
 * The lock's holder: pid, host and boot id. A lock naming our own pid that
 * this process did not take (pid 1 in a container, SIGKILLed and started
 * again) is stale, as is one from another boot; one of another host is not
 * ours to judge and is respected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StorageLockedError } from '../../src/storage/errors.js';
import { acquireDirLock, bootId, lockText, parseLockText } from '../../src/storage/lock.js';

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-lock-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the lock records pid, host and boot id, and an old bare-pid lock still reads', () =>
  withDir((dir) => {
    const lock = acquireDirLock(dir);
    const holder = parseLockText(readFileSync(join(dir, 'LOCK'), 'utf8'));
    assert.equal(holder?.pid, process.pid);
    assert.equal(holder?.host, hostname());
    if (bootId() !== null) assert.equal(holder?.boot, bootId());
    lock.release();
    assert.deepEqual(parseLockText('123\n'), { pid: 123 });
    assert.equal(parseLockText('not a pid'), null);
  }));

test('a lock naming our own pid that this process does not hold is stale (pid 1 after a SIGKILL in a container)', () =>
  withDir((dir) => {
    writeFileSync(
      join(dir, 'LOCK'),
      lockText({ pid: process.pid, host: hostname(), ...(bootId() !== null ? { boot: bootId()! } : {}) }),
    );
    const lock = acquireDirLock(dir);
    assert.throws(
      () => acquireDirLock(dir),
      (err: Error) => err instanceof StorageLockedError && err.message.includes(`process ${process.pid}`),
      'a lock this process holds is still refused',
    );
    lock.release();
  }));

test('a lock from another boot is stale even if its pid is alive now; one from another host is respected', () =>
  withDir((dir) => {
    writeFileSync(join(dir, 'LOCK'), lockText({ pid: process.ppid, host: hostname(), boot: 'another-boot' }));
    if (bootId() !== null) acquireDirLock(dir).release();
    writeFileSync(join(dir, 'LOCK'), lockText({ pid: 4242, host: 'elsewhere.example', boot: 'x' }));
    assert.throws(() => acquireDirLock(dir), /in use by process 4242 on host elsewhere\.example/);
  }));
