/**
 * One process per data directory: two replicas writing one acceptor's log
 * would each believe promises the other broke.
 *
 * The lock is a file named LOCK holding the owner's pid. It is created
 * exclusively, like O_EXCL, but by hard-linking a temporary file that
 * already holds the pid: a lock file created empty and filled afterwards
 * could be read as "no owner" by a second process in between and taken over.
 *
 * A lock whose pid is no longer alive is stale (its replica was SIGKILLed)
 * and is taken over. The takeover first renames the lock to a name of our
 * own, which only one process can do, and then checks that what it took is
 * the stale lock it read: a process that took it over a moment earlier gets
 * its lock back. Left open: a third process creating a lock in the instant
 * between that rename and the restore; with one orchestrator starting each
 * replica once, this does not arise.
 */
import { linkSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageLockedError } from './errors.js';

export const LOCK_FILE_NAME = 'LOCK';
/** Each attempt either takes the lock, finds a live owner, or removes one stale lock. */
const LOCK_ATTEMPTS = 4;

export interface DirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours; idempotent. */
  release(): void;
}

export function acquireDirLock(dir: string): DirLock {
  const file = join(dir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (tryCreate(file)) return ownedLock(file);
    const holder = readHolder(file);
    if (holder === undefined) continue;
    if (holder !== null && isAlive(holder)) throw lockedBy(dir, holder);
    takeOverStale(dir, file, holder);
  }
  throw new StorageLockedError(`data directory ${dir} is being locked by other processes at the same time; try again`);
}

function tryCreate(file: string): boolean {
  const staged = `${file}.${process.pid}.tmp`;
  writeFileSync(staged, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(staged, file);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(staged, { force: true });
  }
}

/** The pid in a lock file; null if it holds no valid pid; undefined if the file is gone. */
function readHolder(file: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function takeOverStale(dir: string, file: string, stale: number | null): void {
  const taken = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, taken);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return; // Someone else removed it first: try again to create ours.
    throw err;
  }
  const holder = readHolder(taken);
  if (holder !== stale && holder !== undefined && holder !== null && isAlive(holder)) {
    restore(taken, file);
    throw lockedBy(dir, holder);
  }
  rmSync(taken, { force: true });
}

/** Gives back a live lock taken by mistake, unless a new one appeared meanwhile. */
function restore(taken: string, file: string): void {
  try {
    linkSync(taken, file);
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
  } finally {
    rmSync(taken, { force: true });
  }
}

function ownedLock(file: string): DirLock {
  let held = true;
  return {
    file,
    release(): void {
      if (!held) return;
      held = false;
      // A lock that is no longer ours (removed by hand, or taken over) is not ours to remove.
      if (readHolder(file) !== process.pid) return;
      try {
        unlinkSync(file);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err;
      }
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(err) === 'EPERM';
  }
}

function lockedBy(dir: string, pid: number): StorageLockedError {
  return new StorageLockedError(`data directory ${dir} is in use by process ${pid}`);
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
