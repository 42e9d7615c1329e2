import { lstatSync, mkdirSync, type Stats, statfsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import { readLogTail, unwrittenLastLine } from './log-files.js';

/**
 * Where a cluster lives: its record, the replicas' data directories and logs.
 * PAXOS_HOME moves it (tests give each run its own); one cluster per home.
 * Always absolute: the record and the detached orchestrator outlive the
 * directory a relative PAXOS_HOME was typed in.
 */
export function paxosHome(): string {
  const env = process.env.PAXOS_HOME;
  return resolve(env !== undefined && env !== '' ? env : join(homedir(), '.paxos'));
}

/**
 * Refuses a home another user could subvert, the way ssh's StrictModes
 * refuses a ~/.ssh: it must be a directory owned by the user running paxos,
 * and not writable by group or others, who could otherwise plant links there
 * (a `logs` pointing at their own folder) or replace the cluster record. A
 * home that does not exist yet passes; it is created private when needed.
 */
export function checkHome(home: string): void {
  const st = statSync(home, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isDirectory())
    throw new OperatingError(
      `${home} is not a directory, so it cannot be a paxos home; set PAXOS_HOME to a directory of your own`,
    );
  checkPrivate(home, st, 'the paxos home');
}

/** Creates the home private to the user if it is missing, then checks it (a home may be a link to a directory of the user's own). */
export function ensureHome(home: string): void {
  makePrivateDir(home);
  checkHome(home);
}

/**
 * Creates `dir` (and the home above it) private to the user if missing, then
 * checks that it is a real directory, not a link, owned by the user and not
 * writable by others: a directory in the home that someone replaced by a link
 * to theirs would receive the cluster's logs.
 */
export function ensurePrivateDir(dir: string): void {
  makePrivateDir(dir);
  checkPrivateDirIfPresent(dir);
}

/** mkdir -p with mode 0700; a refusal is one sentence. */
function makePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    // Node's recursive mkdir reports some refusals (a read-only file system) as ENOENT; a plain mkdir of the last directory tells the real cause.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (plain) {
        throw fileSystemError(plain, dir, 'create');
      }
      return;
    }
    throw fileSystemError(err, dir, 'create');
  }
}

/** Checks, without creating it, a directory in the home that may not exist yet (`logs` for `paxos logs`): if it exists it must be private. */
export function checkPrivateDirIfPresent(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (st.isSymbolicLink()) throw plantedLink(dir);
  if (!st.isDirectory()) throw new OperatingError(`${dir} is not a directory; remove it and run the command again`);
  checkPrivate(dir, st, 'it');
}

/** A link where paxos expects its own file or directory: refused, never followed. */
function plantedLink(path: string): OperatingError {
  return new OperatingError(
    `${path} is a symbolic link, which paxos does not follow in its home (another user may have planted it); remove it and run the command again`,
  );
}

function checkPrivate(path: string, st: Stats, what: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: ownership and modes do not apply.
  if (st.uid !== uid) {
    throw new OperatingError(
      `${path} belongs to another user (uid ${st.uid}, not yours, ${uid}), who could read or replace what paxos keeps there; set PAXOS_HOME to a directory of your own`,
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new OperatingError(
      `${path} can be written by ${(st.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}), who could plant links in ${what}; run \`chmod go-w ${path}\` or set PAXOS_HOME to a private directory`,
    );
  }
}

/**
 * The ordinary ways the disk refuses, as one sentence naming the path and
 * what to do; anything else is returned as it is (it would be a bug).
 * `doing` is the verb: 'create', 'write', 'read', 'open'.
 */
export function fileSystemError(err: unknown, path: string, doing: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new OperatingError(
        `cannot ${doing} ${path}: the disk is full; free some space there and run the command again`,
      );
    case 'EACCES':
    case 'EPERM':
      return new OperatingError(
        `cannot ${doing} ${path}: permission denied; make it ${doing === 'read' ? 'readable' : 'writable'} by you, or set PAXOS_HOME to a directory of your own`,
      );
    case 'EROFS':
      return new OperatingError(
        `cannot ${doing} ${path}: the file system is read-only; set PAXOS_HOME to a writable directory`,
      );
    case 'ELOOP':
      return plantedLink(path);
    case 'ENOTDIR':
      return new OperatingError(
        `cannot ${doing} ${path}: part of that path is not a directory; fix the path or set PAXOS_HOME to another directory`,
      );
    default:
      return err;
  }
}

export function dataDirOf(home: string, node: number): string {
  return join(home, 'data', nodeName(node));
}

export function logFileOf(home: string, node: number): string {
  return join(home, 'logs', `${nodeName(node)}.log`);
}

export function orchestratorLogOf(home: string): string {
  return join(home, 'logs', 'orchestrator.log');
}

/** What a failed system call was doing, in the words of fileSystemError. */
const VERB_OF_SYSCALL: Readonly<Record<string, string>> = {
  open: 'open',
  mkdir: 'create',
  write: 'write',
  rename: 'write',
  read: 'read',
  scandir: 'read',
  unlink: 'delete',
  rmdir: 'delete',
  rm: 'delete',
  copyfile: 'write',
  fsync: 'write',
};

/**
 * An error of the file system that escaped a command (a full disk under the
 * manifest's write, a read-only home under a mkdir) as one sentence naming
 * the path and what to do; anything else is returned as it is. A write to an
 * open file carries no path, so the home stands for it.
 */
export function diskStateError(err: unknown, home: string): unknown {
  if (err instanceof OperatingError) return err;
  const e = err as NodeJS.ErrnoException | null;
  if (typeof e?.code !== 'string') return err;
  return fileSystemError(err, e.path ?? `files in ${home}`, VERB_OF_SYSCALL[e.syscall ?? ''] ?? 'write');
}

/** Whether the file system holding `path` has (almost) no room left: under 64 KiB free, a log line or a manifest will not fit. */
export function diskFullAt(path: string): boolean {
  try {
    const fs = statfsSync(path);
    return fs.bavail * fs.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/**
 * The last thing a process wrote to its log before it exited: usually the one
 * sentence that explains why. Read through the log reader, so it reads only
 * the end of the file, and finds the line in `.1` if the log has just rotated.
 */
export function lastLine(file: string): string {
  // A line the disk refused (it was full) is the latest word, though the file does not hold it.
  const refused = unwrittenLastLine(file);
  if (refused !== undefined) return withoutPrefixes(refused);
  try {
    // A few lines rather than one, so that blank lines at the end do not hide the last words.
    const tail = readLogTail({ file, lines: 5 });
    const text = `${tail.text}${tail.partial}`.trimEnd();
    return withoutPrefixes(text.slice(text.lastIndexOf('\n') + 1)) || `see ${file}`;
  } catch {
    return `see ${file}`;
  }
}

/** A log line without its timestamp and `paxos: `: the sentence itself. */
function withoutPrefixes(line: string): string {
  return line.replace(/^\S+Z /, '').replace(/^paxos: /, '');
}

/** `node-1 to node-3`, or `node-1, node-2, node-4` when the ids have gaps. */
export function describeIds(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no replicas';
  const contiguous = sorted.every((id, i) => id === sorted[0] + i);
  if (contiguous && sorted.length > 2) return `${nodeName(sorted[0])} to ${nodeName(sorted[sorted.length - 1])}`;
  return sorted.map((id) => nodeName(id)).join(', ');
}
