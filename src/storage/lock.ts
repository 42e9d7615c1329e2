/**
 * One process per data directory: two replicas writing one acceptor's log
 * would each believe promises the other broke.
 *
 * The lock is a file named LOCK holding the owner's pid, host name and boot
 * id (one JSON line; a lock of an older build holds the pid alone). It is created
 * exclusively, like O_EXCL, but by hard-linking a temporary file that
 * already holds the pid: a lock file created empty and filled afterwards
 * could be read as "no owner" by a second process in between and taken over.
 *
 * A lock whose pid is no longer alive is stale (its replica was SIGKILLed)
 * and is taken over. So is a lock written under another boot of this
 * machine (its pid may have been reused since), and a lock naming our own
 * pid that this process does not hold: in a container a replica is pid 1 at
 * every start, so after a SIGKILL its lock names the pid of the next start.
 * A lock written on another host (a data directory on shared storage) is
 * never taken over: its owner may be alive there. The takeover first renames the lock to a name of our
 * own, which only one process can do, and then checks that what it took is
 * the stale lock it read: a process that took it over a moment earlier gets
 * its lock back. Left open: a third process creating a lock in the instant
 * between that rename and the restore; with one orchestrator starting each
 * replica once, this does not arise.
 */
import { linkSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
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

/** Who holds a lock: what its file says. `host` and `boot` are absent in a lock of an older build. */
export interface LockHolder {
  readonly pid: number;
  readonly host?: string;
  readonly boot?: string;
}

/** Lock files this process holds: a lock naming our own pid is ours only if it is in here. */
const heldHere = new Set<string>();

/** This boot of the machine (Linux); null elsewhere, where only the pid is checked. */
export function bootId(): string | null {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return id === '' ? null : id;
  } catch {
    return null;
  }
}

/** The text of a lock: one JSON line. */
export function lockText(holder: LockHolder): string {
  return `${JSON.stringify(holder)}\n`;
}

/** A lock file's holder: a JSON line, or a bare pid (older builds); null if it names no valid pid. */
export function parseLockText(text: string): LockHolder | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return validPid(Number(trimmed)) ? { pid: Number(trimmed) } : null;
  try {
    const o = JSON.parse(trimmed) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || !validPid(o.pid)) return null;
    return {
      pid: o.pid,
      ...(typeof o.host === 'string' ? { host: o.host } : {}),
      ...(typeof o.boot === 'string' ? { boot: o.boot } : {}),
    };
  } catch {
    return null;
  }
}

function validPid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0;
}

/**
 * Whether a lock's holder may still be running. A lock of another host is
 * assumed held (we cannot look); one of another boot of this host is not;
 * one naming our pid is held only if this process took it.
 */
export function holderIsLive(holder: LockHolder, file?: string): boolean {
  if (holder.host !== undefined && holder.host !== hostname()) return true;
  const boot = bootId();
  if (holder.boot !== undefined && boot !== null && holder.boot !== boot) return false;
  if (holder.pid === process.pid) return file !== undefined ? heldHere.has(file) : true;
  return isAlive(holder.pid);
}

function selfHolder(): LockHolder {
  const boot = bootId();
  return { pid: process.pid, host: hostname(), ...(boot !== null ? { boot } : {}) };
}

export function acquireDirLock(dir: string): DirLock {
  const file = join(dir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (tryCreate(file)) return ownedLock(file);
    const holder = readHolder(file);
    if (holder === undefined) continue;
    if (holder !== null && holderIsLive(holder, file)) throw lockedBy(dir, holder);
    takeOverStale(dir, file, holder);
  }
  throw new StorageLockedError(`data directory ${dir} is being locked by other processes at the same time; try again`);
}

function tryCreate(file: string): boolean {
  const staged = `${file}.${process.pid}.tmp`;
  writeFileSync(staged, lockText(selfHolder()), { mode: 0o600 });
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

/** The holder a lock file names; null if it names no valid pid; undefined if the file is gone. */
function readHolder(file: string): LockHolder | null | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return parseLockText(text);
}

function sameHolder(a: LockHolder | null | undefined, b: LockHolder | null): boolean {
  if (a === undefined || a === null || b === null) return a === b;
  return a.pid === b.pid && a.host === b.host && a.boot === b.boot;
}

function takeOverStale(dir: string, file: string, stale: LockHolder | null): void {
  const taken = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, taken);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return; // Someone else removed it first: try again to create ours.
    throw err;
  }
  const holder = readHolder(taken);
  if (!sameHolder(holder, stale) && holder !== undefined && holder !== null && holderIsLive(holder, file)) {
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
  heldHere.add(file);
  return {
    file,
    release(): void {
      if (!held) return;
      held = false;
      heldHere.delete(file);
      // A lock that is no longer ours (removed by hand, or taken over) is not ours to remove.
      const holder = readHolder(file);
      if (holder === undefined || holder === null || !sameHolder(holder, selfHolder())) return;
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

function lockedBy(dir: string, holder: LockHolder): StorageLockedError {
  const where = holder.host !== undefined && holder.host !== hostname() ? ` on host ${holder.host}` : '';
  return new StorageLockedError(`data directory ${dir} is in use by process ${holder.pid}${where}`);
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
