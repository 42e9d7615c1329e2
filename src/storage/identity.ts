/**
 * A replica data directory's identity: which cluster and which replica it
 * belongs to, and how many times a replica has started from it (its
 * incarnation). A replica checks it before it opens its storage, because an
 * acceptor that starts from an empty or foreign directory has forgotten the
 * promises it made: it would answer prepares and accepts as if it never had,
 * and two different values could then be chosen. Such a replica refuses to
 * start instead, in one sentence that names the way back.
 *
 * The file is replaced atomically (write a temporary file, fsync it, rename
 * it over the old one, fsync the directory), so a crash leaves either the old
 * identity or the new one, never a torn one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as v from 'valibot';

export const IDENTITY_FILE_NAME = 'identity.json';
/** The exit code of a replica that refused to start from its data directory, so the orchestrator can report its sentence as it is. */
export const IDENTITY_REFUSED_EXIT = 5;

const IdentitySchema = v.object({
  version: v.literal(1),
  clusterId: v.pipe(v.string(), v.nonEmpty()),
  node: v.pipe(v.number(), v.integer(), v.minValue(1)),
  incarnation: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export type Identity = v.InferOutput<typeof IdentitySchema>;

/** A data directory that must not be started from; the message is the one sentence to show. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

export interface IdentityCheck {
  readonly dataDir: string;
  readonly node: number;
  readonly clusterId: string;
  /**
   * The cluster's manifest says this replica has started before, so its
   * directory must hold its data. False only for the first start of a
   * replica of a new cluster, which may create its identity.
   */
  readonly expectData: boolean;
}

/**
 * Checks that `dataDir` is this replica's own, then records one more start
 * (the incarnation) and returns the identity written. Throws IdentityError
 * when starting from the directory could break agreement.
 */
export function claimIdentity(c: IdentityCheck): Identity {
  const found = readIdentity(c.dataDir);
  if (found === null) {
    if (c.expectData) throw new IdentityError(missingSentence(c));
    return writeIdentity(c.dataDir, { version: 1, clusterId: c.clusterId, node: c.node, incarnation: 1 });
  }
  if (found.clusterId !== c.clusterId) {
    throw new IdentityError(`node-${c.node}'s data directory ${c.dataDir} belongs to another cluster (${found.clusterId}, not ${c.clusterId}): starting from it would mix two clusters' promises, which can break agreement; start over with \`paxos up --fresh\``);
  }
  if (found.node !== c.node) {
    throw new IdentityError(`node-${c.node}'s data directory ${c.dataDir} holds node-${found.node}'s data: starting from it would make node-${c.node} keep another acceptor's promises, which can break agreement; put the directory back or start over with \`paxos up --fresh\``);
  }
  // A replica that started before created its log at once: an identity without one means the log was deleted.
  if (found.incarnation >= 1 && !existsSync(join(c.dataDir, 'wal.log')) && !existsSync(join(c.dataDir, 'snapshot'))) {
    throw new IdentityError(`node-${c.node}'s data directory ${c.dataDir} has its identity but no log (wal.log): it would rejoin having forgotten its promises, which can break agreement; `
      + `its data is gone, so it can only come back as a new member (\`paxos replace node-${c.node}\` in a Multi-Paxos cluster), or start over with \`paxos up --fresh\``);
  }
  return writeIdentity(c.dataDir, { ...found, incarnation: found.incarnation + 1 });
}

function missingSentence(c: IdentityCheck): string {
  const state = !existsSync(c.dataDir) ? 'is missing' : isEmptyDir(c.dataDir) ? 'is empty' : `has no ${IDENTITY_FILE_NAME}`;
  return `node-${c.node}'s data directory ${c.dataDir} ${state}: it would rejoin having forgotten its promises, which can break agreement; `
    + `its data is gone, so it can only come back as a new member (\`paxos replace node-${c.node}\` in a Multi-Paxos cluster), or start over with \`paxos up --fresh\``;
}

function isEmptyDir(dir: string): boolean {
  try {
    // The replica's own lock, taken before this check, is not data.
    return readdirSync(dir).filter((name) => name !== 'LOCK').length === 0;
  } catch {
    return true; // Missing (or unreadable) counts as empty: there is nothing to start from.
  }
}

/** The identity in `dataDir`, or null when there is none; a file that is not a valid identity is an IdentityError. */
export function readIdentity(dataDir: string): Identity | null {
  const file = join(dataDir, IDENTITY_FILE_NAME);
  const raw = readJsonIfPresent(file, () => new IdentityError(`${file} is not valid JSON; it cannot tell whose data this is, so the replica does not start from it`));
  if (raw === null) return null;
  const result = v.safeParse(IdentitySchema, raw);
  if (!result.success) throw new IdentityError(`${file} is not a valid identity (${result.issues[0].message}); the replica does not start from it`);
  return result.output;
}

/**
 * A small JSON file's contents, or null when it does not exist; text that is
 * not JSON is the error `notJson` makes (each caller says what to do about it).
 */
export function readJsonIfPresent(file: string, notJson: (reason: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw notJson((err as Error).message);
  }
}

/** Replaces the identity atomically and durably (see replaceFileDurably). */
export function writeIdentity(dataDir: string, identity: Identity): Identity {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  replaceFileDurably(join(dataDir, IDENTITY_FILE_NAME), `${JSON.stringify(identity)}\n`);
  return identity;
}

/**
 * Replaces `file` with `text` so that a crash at any moment leaves either the
 * old content or the new, never a mix: write a temporary file, fsync it,
 * rename it over `file`, fsync the directory.
 */
export function replaceFileDurably(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  // The rename lives in the directory: without this fsync a power loss could bring the old content back.
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
