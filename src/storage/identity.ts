/**
 * A replica data directory's identity: which cluster and which replica it
 * belongs to, how many times a replica has started from it (its
 * incarnation), and the high-water mark of its log (how far the log had
 * durably reached, which it must always reach). A replica checks it before it
 * opens its storage, because an acceptor that starts from an empty, foreign,
 * truncated or rolled-back directory has forgotten the promises it made: it
 * would answer prepares and accepts as if it never had, and two different
 * values could then be chosen. Such a replica refuses to start instead, in
 * one sentence that names the way back; and a replica whose directory is
 * deleted or replaced while it runs stops (watchDataDir).
 *
 * The method is Protocol-Aware Recovery's (Alagappan et al., FAST 2018): tell
 * a crash (an unacknowledged tail, harmless) from damage (acknowledged state
 * lost) by what the storage durably knew before, never by whether a file
 * happens to exist. The log's own header (file-storage.ts) makes an empty or
 * headerless log invalid; this file keeps the mark the log must reach.
 *
 * Every file here is replaced atomically (write a temporary file, fsync it,
 * rename it over the old one, fsync the directory), so a crash leaves either
 * the old content or the new, never a torn one.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as v from 'valibot';
import { nodeName } from '../core/types.js';

export const IDENTITY_FILE_NAME = 'identity.json';
/** The exit code of a replica that refused to start from its data directory, so the orchestrator can report its sentence as it is. */
export const IDENTITY_REFUSED_EXIT = 5;

const IdentitySchema = v.object({
  version: v.literal(1),
  clusterId: v.pipe(v.string(), v.nonEmpty()),
  node: v.pipe(v.number(), v.integer(), v.minValue(1)),
  incarnation: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /**
   * The high-water mark: how many records this replica's log had durably
   * reached (counted from its first, across compactions) when last noted.
   * Absent until the log is first created; the log must always reach it.
   */
  logReached: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /**
   * This directory was started afresh after the replica's data was lost
   * (`paxos recover`): every start tells the core so, and the core votes
   * again only once re-admitted (core/multi/recovery.ts). Never cleared.
   */
  recovering: v.optional(v.literal(true)),
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

/** What a start may rely on: the directory's identity (as found, or a new one) and how far its log must reach. */
export interface Claim {
  /** The identity found (or, for a new replica without one, the one it will write); not yet bumped. */
  readonly identity: Identity;
  /**
   * How far the log must have reached (records since the replica's first),
   * from the durable high-water mark; null when no log was ever created
   * here, so a missing log may be created.
   */
  readonly mustReach: number | null;
}

/**
 * Checks that `dataDir` is this replica's own and says how far its log must
 * reach; writes nothing (see recordStart for the write that follows a good
 * open). Throws IdentityError when starting from the directory could break
 * agreement.
 *
 * The high-water mark has two durable copies: `logReached` in the identity
 * file, and the same number in a witness file beside the data directory
 * (markFileOf). The witness catches what the identity cannot: a whole
 * directory copied back from an earlier time brings its own, older identity
 * with it, but not the witness. The greater of the two counts. Both are only
 * ever set to a length the log had already made durable, so whatever order
 * the two writes land in and wherever a crash stops them, the log reaches
 * both (a healthy replica never looks damaged); and a replica votes only
 * after its first mark is durable (recordStart, before the replica starts),
 * so a replica that may have voted always has a mark its log must reach (a
 * damaged one never looks healthy: see openFileStorage for the checks).
 */
export function checkIdentity(c: IdentityCheck): Claim {
  const found = readIdentity(c.dataDir);
  const witness = readWitness(c.dataDir, c);
  if (found === null) {
    if (c.expectData) throw new IdentityError(missingSentence(c));
    return { identity: { version: 1, clusterId: c.clusterId, node: c.node, incarnation: 0 }, mustReach: witness };
  }
  if (found.clusterId !== c.clusterId) {
    throw new IdentityError(
      `${nodeName(c.node)}'s data directory ${c.dataDir} belongs to another cluster (${found.clusterId}, not ${c.clusterId}): starting from it would mix two clusters' promises, which can break agreement; start over with \`paxos up --fresh\``,
    );
  }
  if (found.node !== c.node) {
    throw new IdentityError(
      `${nodeName(c.node)}'s data directory ${c.dataDir} holds ${nodeName(found.node)}'s data: starting from it would make ${nodeName(c.node)} keep another acceptor's promises, which can break agreement; put the directory back or start over with \`paxos up --fresh\``,
    );
  }
  // An identity that has been started from (incarnation 1 on) was bumped only after its log was created:
  // without a mark (data of an earlier paxos) the log must still exist, with its header.
  // A directory set aside for recovery starts a fresh log: until its first start has a mark, it may create one.
  const own = found.logReached ?? (found.incarnation >= 1 && found.recovering !== true ? 0 : null);
  const mustReach = own === null ? witness : witness === null ? own : Math.max(own, witness);
  return { identity: found, mustReach };
}

/**
 * Records one more start (the incarnation) and the high-water mark `reached`
 * (how far the log just opened reaches), durably, in the identity and then
 * the witness. Called after the log opened and passed its checks, before the
 * replica takes any input: from here on, a log that does not reach `reached`
 * is damage.
 */
export function recordStart(dataDir: string, found: Identity, reached: number): Identity {
  const identity: Identity = { ...found, incarnation: found.incarnation + 1, logReached: reached };
  removeCutShortReplacements(join(dataDir, IDENTITY_FILE_NAME));
  removeCutShortReplacements(markFileOf(dataDir));
  writeIdentity(dataDir, identity);
  replaceFileDurably(markFileOf(dataDir), witnessText(identity, reached));
  return identity;
}

/**
 * Advances the high-water mark to `reached`, a length the log has already
 * made durable (FileStorage calls this lazily, off the write path). First
 * checks that the directory still holds this incarnation's identity, so a
 * mark is never written over a directory put back or replaced under a
 * running replica (that would hide the rollback); then identity, then
 * witness, each replaced atomically.
 */
export async function advanceMark(dataDir: string, identity: Identity, reached: number): Promise<void> {
  const lost = lostIdentity(dataDir, identity);
  if (lost !== null) throw new IdentityError(lost);
  await replaceFileDurablyAsync(
    join(dataDir, IDENTITY_FILE_NAME),
    `${JSON.stringify({ ...identity, logReached: reached })}\n`,
  );
  await replaceFileDurablyAsync(markFileOf(dataDir), witnessText(identity, reached));
}

/** The witness of `dataDir`'s high-water mark: a file beside the directory (`node-2.mark` beside `node-2`), so a copy of the directory does not carry it. */
export function markFileOf(dataDir: string): string {
  const full = resolve(dataDir);
  return join(dirname(full), `${basename(full)}.mark`);
}

const WitnessSchema = v.object({
  version: v.literal(1),
  clusterId: v.string(),
  node: v.number(),
  reached: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

function witnessText(identity: Identity, reached: number): string {
  return `${JSON.stringify({ version: 1, clusterId: identity.clusterId, node: identity.node, reached })}\n`;
}

/** The witness's mark for this cluster's replica, or null when there is none (or it is of another cluster's, left from an earlier one: ignored). */
function readWitness(dataDir: string, c: { clusterId: string; node: number }): number | null {
  const file = markFileOf(dataDir);
  const raw = readJsonIfPresent(
    file,
    () =>
      new IdentityError(
        `${file} (${nodeName(c.node)}'s high-water mark) is not valid JSON; it was written whole or not at all, so it was damaged afterwards; the replica does not start until a person looks`,
      ),
  );
  if (raw === null) return null;
  const result = v.safeParse(WitnessSchema, raw);
  if (!result.success)
    throw new IdentityError(
      `${file} is not a valid high-water mark (${result.issues[0].message}); the replica does not start until a person looks`,
    );
  if (result.output.clusterId !== c.clusterId || result.output.node !== c.node) return null;
  return result.output.reached;
}

/**
 * Why `dataDir` is no longer the directory this incarnation started from (its
 * identity gone, unreadable, or another's or an earlier incarnation's), as
 * one sentence; null while it still is.
 */
export function lostIdentity(dataDir: string, identity: Identity): string | null {
  const stop = `${nodeName(identity.node)} stops so it does not vote on what it may not remember`;
  let found: Identity | null;
  try {
    found = readIdentity(dataDir);
  } catch (err) {
    return `${nodeName(identity.node)}'s identity in ${dataDir} became unreadable while it ran (${(err as Error).message}); ${stop}`;
  }
  if (found === null)
    return `${nodeName(identity.node)}'s data directory ${dataDir} ${existsSync(dataDir) ? `lost its ${IDENTITY_FILE_NAME}` : 'was deleted'} while it ran; ${stop}`;
  if (
    found.clusterId !== identity.clusterId ||
    found.node !== identity.node ||
    found.incarnation !== identity.incarnation
  ) {
    return `${nodeName(identity.node)}'s data directory ${dataDir} changed under it while it ran (it now holds ${nodeName(found.node)} of cluster ${found.clusterId}, incarnation ${found.incarnation}, not incarnation ${identity.incarnation}: put back or replaced); ${stop}`;
  }
  return null;
}

/**
 * Watches a running replica's data directory: every `everyMs`, that it is
 * still the same directory (same inode) holding this incarnation's identity,
 * and (`logInPlace`, FileStorage.stillInPlace) that its log is still the file
 * the replica writes.
 * A directory deleted, replaced or rolled back under a running replica calls
 * `onLost` with one sentence; the caller stops the replica. Returns a stop
 * function. The timer does not keep the process alive.
 */
export function watchDataDir(
  dataDir: string,
  identity: Identity,
  everyMs: number,
  onLost: (sentence: string) => void,
  logInPlace?: () => Promise<boolean>,
): () => void {
  const inode = inodeOf(dataDir);
  const stop = `${nodeName(identity.node)} stops so it does not vote on what it may not remember`;
  let checking = false;
  const check = async (): Promise<string | null> => {
    const now = inodeOf(dataDir);
    if (now === null) return `${nodeName(identity.node)}'s data directory ${dataDir} was deleted while it ran; ${stop}`;
    if (now !== inode)
      return `${nodeName(identity.node)}'s data directory ${dataDir} was replaced by another directory while it ran; ${stop}`;
    const lost = lostIdentity(dataDir, identity);
    if (lost !== null) return lost;
    // A directory put back from a copy can get the old inode number back; the open log's cannot be reused.
    if (logInPlace !== undefined && !(await logInPlace()))
      return `${nodeName(identity.node)}'s log in ${dataDir} was deleted, replaced, truncated or put back from a copy while it ran; ${stop}`;
    return null;
  };
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void check().then((lost) => {
      checking = false;
      if (lost === null) return;
      clearInterval(timer);
      onLost(lost);
    });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function inodeOf(dir: string): string | null {
  try {
    const s = statSync(dir);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * Sets a replica's lost data aside for recovery (`paxos recover`): the
 * directory moves to `<dir>.lost-<time>` (with its high-water mark beside
 * it), never deleted, and a fresh directory takes its place whose identity
 * says `recovering`, keeping the replica's incarnation so peers never see it
 * go back. Only a directory that is this replica's own, by its identity, or
 * has none (missing, empty, identity lost) is moved; one that names another
 * cluster or replica is refused. Returns where the old data went, or null if
 * there was nothing to set aside. Only `paxos recover` calls it; a later
 * restart of a recovering replica goes on from its records.
 */
export function setAsideLostData(c: Omit<IdentityCheck, 'expectData'>, now: Date): string | null {
  let found: Identity | null = null;
  try {
    found = readIdentity(c.dataDir);
  } catch {
    found = null; // An identity that cannot be read is part of the damage being set aside.
  }
  if (found !== null && (found.clusterId !== c.clusterId || found.node !== c.node))
    throw new IdentityError(
      `${c.dataDir} holds ${found.clusterId === c.clusterId ? `${nodeName(found.node)}'s` : `cluster ${found.clusterId}'s`} data, not ${nodeName(c.node)}'s: paxos sets aside only a replica's own lost data; put the right directory in place or move this one yourself`,
    );
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const aside = `${resolve(c.dataDir)}.lost-${stamp}`;
  const moved = existsSync(c.dataDir);
  if (moved) renameSync(c.dataDir, aside);
  const mark = markFileOf(c.dataDir);
  if (existsSync(mark)) renameSync(mark, `${aside}.mark`);
  mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
  writeIdentity(c.dataDir, {
    version: 1,
    clusterId: c.clusterId,
    node: c.node,
    incarnation: found?.incarnation ?? 0,
    recovering: true,
  });
  return moved ? aside : null;
}

function missingSentence(c: IdentityCheck): string {
  const state = !existsSync(c.dataDir)
    ? 'is missing'
    : isEmptyDir(c.dataDir)
      ? 'is empty'
      : `has no ${IDENTITY_FILE_NAME}`;
  return (
    `${nodeName(c.node)}'s data directory ${c.dataDir} ${state}: it would rejoin having forgotten its promises, which can break agreement; ` +
    `its data is gone, so in a Multi-Paxos cluster it can recover (\`paxos recover ${nodeName(c.node)}\`: it votes again once re-admitted) or come back as a new member (\`paxos replace ${nodeName(c.node)}\`), or start over with \`paxos up --fresh\``
  );
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
  const raw = readJsonIfPresent(
    file,
    () =>
      new IdentityError(
        `${file} is not valid JSON; it cannot tell whose data this is, so the replica does not start from it`,
      ),
  );
  if (raw === null) return null;
  const result = v.safeParse(IdentitySchema, raw);
  if (!result.success)
    throw new IdentityError(
      `${file} is not a valid identity (${result.issues[0].message}); the replica does not start from it`,
    );
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

/**
 * Deletes the temporary files of replacements of `file` that a crash cut short
 * (`identity.json.4242.tmp`: a SIGKILL between the write and the rename). The
 * file itself is whole, old or new; the leftover would otherwise stay beside it
 * for good. Called at start, under the directory's lock, so no replacement of
 * this replica is under way; only names replaceFileDurably makes are touched.
 */
export function removeCutShortReplacements(file: string): string[] {
  const dir = dirname(file);
  if (!existsSync(dir)) return [];
  const prefix = `${basename(file)}.`;
  const leftovers = readdirSync(dir).filter(
    (name) => name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length)),
  );
  for (const name of leftovers) rmSync(join(dir, name), { force: true });
  return leftovers;
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

/** replaceFileDurably without blocking the event loop: a running replica advances its mark this way, off its write path. */
export async function replaceFileDurablyAsync(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
