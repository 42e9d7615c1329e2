/**
 * The cluster manifest, `$PAXOS_HOME/data/manifest.json`: what the data in a
 * home is (cluster id, bootstrap size, protocol, when it was created, and
 * every replica it ever had: its port and whether it is a voter, a learner
 * catching up to join, or removed; plus the next free id, since ids are
 * never reused). It lives beside the data rather than in the cluster record
 * because it outlives the running cluster: `paxos up` reads it to resume the
 * cluster from its data, and to refuse a start that does not fit the data.
 */
import { randomBytes } from 'node:crypto';
import { type Dirent, lstatSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_NODE_ID } from '../core/membership.js';
import type { Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import { IDENTITY_FILE_NAME, readJsonIfPresent, replaceFileDurably } from '../storage/identity.js';
import { holderIsLive, LOCK_FILE_NAME, parseLockText } from '../storage/lock.js';
import { monotonicMs } from './monotonic.js';
import { type Manifest, ManifestSchema, type MemberState, parseOrThrow } from './schemas.js';

export type { Manifest, MemberState } from './schemas.js';

export function dataRootOf(home: string): string {
  return join(home, 'data');
}

export function manifestFileOf(home: string): string {
  return join(dataRootOf(home), 'manifest.json');
}

/** A new cluster's manifest: a random id, and no ports until the replicas have registered theirs. */
export function newManifest(clusterSize: number, protocol: Protocol): Manifest {
  return {
    version: 1,
    clusterId: randomBytes(8).toString('hex'),
    protocol,
    clusterSize,
    createdAtMs: Date.now(),
    replicas: Array.from({ length: clusterSize }, (_, i) => ({ id: i + 1, port: null, state: 'voter' as const })),
    nextId: clusterSize + 1,
  };
}

// ------------------------------------------------------------ membership

/** The id the next replica to join gets: ids are never reused, so a wiped replica can only rejoin as a new member. */
export function nextIdOf(m: Manifest): number {
  return m.nextId ?? Math.max(0, ...m.replicas.map((r) => r.id)) + 1;
}

/** The replicas `paxos up` starts on resume: every one not removed. */
export function liveMembers(m: Manifest): Manifest['replicas'] {
  return m.replicas.filter((r) => r.state !== 'removed');
}

/** The voters as the manifest records them (the replicas' own logs are the authority; this is what the orchestrator knows). */
export function votersOf(m: Manifest): number[] {
  return m.replicas.filter((r) => r.state === 'voter').map((r) => r.id);
}

/** The manifest with one more replica, a learner with the next free id; refused once ids run out. */
export function withLearner(m: Manifest): { manifest: Manifest; id: number } {
  const id = nextIdOf(m);
  if (id > MAX_NODE_ID) {
    throw new OperatingError(
      `this cluster has used every replica id up to ${nodeName(MAX_NODE_ID)} (ids are never reused); start a new cluster with \`paxos up --fresh\``,
    );
  }
  return { manifest: { ...m, replicas: [...m.replicas, { id, port: null, state: 'learner' }], nextId: id + 1 }, id };
}

/**
 * The manifest with one replica's state changed. A removed replica stays
 * removed: its id is spent and its data no longer belongs to any member.
 */
export function withState(m: Manifest, id: number, state: MemberState): Manifest {
  const r = m.replicas.find((x) => x.id === id);
  if (r === undefined) throw new OperatingError(`there is no ${nodeName(id)} in this cluster's manifest`);
  if (r.state === 'removed' && state !== 'removed')
    throw new OperatingError(`${nodeName(id)} was removed; ids are never reused, so it cannot come back`);
  return { ...m, nextId: nextIdOf(m), replicas: m.replicas.map((x) => (x.id === id ? { ...x, state } : x)) };
}

/** The manifest in `home`, or null when there is none; a malformed one is one sentence naming the file. */
export function readManifest(home: string): Manifest | null {
  const file = manifestFileOf(home);
  const raw = readJsonIfPresent(
    file,
    (reason) =>
      new OperatingError(`${file} is not valid JSON (${reason}); fix it, or delete the data with \`paxos up --fresh\``),
  );
  if (raw === null) return null;
  return parseOrThrow(
    ManifestSchema,
    raw,
    file,
    (sentence) => new OperatingError(`${sentence}; fix it, or delete the data with \`paxos up --fresh\``),
  );
}

/** Writes the manifest atomically: a crash leaves the old one or the new one, which the next `up` must be able to read. */
export function writeManifest(home: string, manifest: Manifest): void {
  replaceFileDurably(manifestFileOf(home), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Whether `home` holds any cluster data at all (a manifest, a replica directory, anything under data/). */
export function hasData(home: string): boolean {
  try {
    return readdirSync(dataRootOf(home)).length > 0;
  } catch {
    return false;
  }
}

export interface UpRequest {
  /** -n as given (flag, environment or template); undefined when the user left it to the default or the data. */
  readonly nodes?: number;
  readonly protocol?: Protocol;
  readonly fresh: boolean;
}

export interface UpPlan {
  /** The manifest of the cluster to resume; null to start an empty one. */
  readonly resume: Manifest | null;
  readonly clusterSize: number;
  readonly protocol: Protocol;
}

const DEFAULT_SIZE = 5;
const DEFAULT_PROTOCOL: Protocol = 'multi';

/**
 * What `paxos up` will do with the data in `home`: resume the cluster it
 * holds, or start an empty one (after `--fresh` has deleted the data). A
 * size or protocol that differs from the data's is refused rather than
 * silently ignored or silently wiping the data.
 */
export function planUp(home: string, req: UpRequest): UpPlan {
  const fresh = { resume: null, clusterSize: req.nodes ?? DEFAULT_SIZE, protocol: req.protocol ?? DEFAULT_PROTOCOL };
  if (req.fresh) return fresh;
  const manifest = readManifest(home);
  if (manifest === null) {
    // Starting would put replica directories among someone else's files, and a later --fresh could not delete them.
    refuseForeignData(home, 'start a cluster there');
    if (hasData(home)) {
      throw new OperatingError(
        `${dataRootOf(home)} holds data but no manifest.json (an older paxos made it, or its first start was cut short), so it cannot be resumed safely; run \`paxos up --fresh\` to delete it and start empty`,
      );
    }
    return fresh;
  }
  const sizeDiffers = req.nodes !== undefined && req.nodes !== manifest.clusterSize;
  const protocolDiffers = req.protocol !== undefined && req.protocol !== manifest.protocol;
  if (sizeDiffers || protocolDiffers) throw new OperatingError(mismatchSentence(home, manifest, req));
  return { resume: manifest, clusterSize: manifest.clusterSize, protocol: manifest.protocol };
}

function mismatchSentence(home: string, m: Manifest, req: UpRequest): string {
  const asData =
    req.protocol !== undefined
      ? `paxos up -n ${m.clusterSize} --protocol ${m.protocol}`
      : `paxos up -n ${m.clusterSize}`;
  const asked = [
    'paxos up --fresh',
    ...(req.nodes !== undefined ? [`-n ${req.nodes}`] : []),
    ...(req.protocol !== undefined ? [`--protocol ${req.protocol}`] : []),
  ].join(' ');
  return `the data in ${dataRootOf(home)} is a ${m.clusterSize}-replica ${m.protocol} cluster; run \`${asData}\`, or \`${asked}\` to delete it and start empty`;
}

/**
 * The live process holding the lock in a replica's data directory, or null.
 * The lock file of a SIGKILLed replica stays behind naming a dead pid; the
 * next replica takes such a stale lock over, so it does not count as held.
 */
export function liveLockHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8');
  } catch {
    return null; // No lock file (or none readable): nothing holds the directory.
  }
  const holder = parseLockText(text);
  return holder !== null && holderIsLive(holder) ? holder.pid : null;
}

/**
 * How long `up` waits for the replicas of a dead orchestrator to let go of
 * their data: each checks once a second whether its orchestrator lives and
 * exits when it does not, so two seconds is their worst case; the rest is
 * slack for a loaded machine.
 */
export const RELEASE_WAIT_MS = 8000;

/**
 * Waits (bounded) until no live process holds any replica directory under
 * `home`. After an orchestrator was SIGKILLed its replicas are still running
 * for up to a second or two; starting over their data, or deleting it, must
 * wait for them to leave.
 */
export async function waitForDataRelease(home: string, timeoutMs = RELEASE_WAIT_MS): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const held = replicaDirs(home)
      .map((dir) => ({ dir, pid: liveLockHolder(dir) }))
      .find((h) => h.pid !== null);
    if (held === undefined) return;
    if (monotonicMs() > deadline) {
      throw new OperatingError(
        `${held.dir} is still in use by process ${held.pid} (a replica of an earlier cluster that did not exit); stop it with \`kill ${held.pid}\` and run \`paxos up\` again`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The replica data directories under `home` (node-1, node-2, …), whatever the manifest says. */
function replicaDirs(home: string): string[] {
  try {
    return readdirSync(dataRootOf(home))
      .filter((name) => /^node-\d+$/.test(name))
      .map((name) => join(dataRootOf(home), name));
  } catch {
    return [];
  }
}

/** The bytes under `path` (a file, or a directory counted recursively); symbolic links count as themselves. */
function sizeOf(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export interface DeletedData {
  readonly path: string;
  readonly entries: readonly { readonly path: string; readonly bytes: number }[];
  readonly bytes: number;
}

/**
 * Deletes every replica's data and the manifest, after waiting for any
 * replica still holding its directory to leave, and returns what was there;
 * null when there was nothing to delete. Logs are kept: they explain what
 * happened to the data that is now gone. Only what paxos made is deleted, and
 * only when nothing else is there (see refuseForeignData): a home may be a
 * folder the user keeps other things in, and a `data/` there is not ours.
 */
export async function deleteData(home: string): Promise<DeletedData | null> {
  const root = dataRootOf(home);
  if (lstatSync(root, { throwIfNoEntry: false }) === undefined) return null;
  refuseForeignData(home, 'delete its data');
  await waitForDataRelease(home);
  const names = readdirSync(root).sort(byNodeNumber);
  const entries = names.map((name) => ({ path: join(root, name), bytes: sizeOf(join(root, name)) }));
  // rmSync unlinks a symbolic link inside a replica directory rather than following it.
  for (const e of entries) rmSync(e.path, { recursive: true, force: true });
  rmdirSync(root);
  if (entries.length === 0) return null;
  return { path: root, entries, bytes: entries.reduce((sum, e) => sum + e.bytes, 0) };
}

/**
 * Throws one sentence naming every entry of `data/` paxos did not make, or
 * the data directory itself when it is a link or not a directory; `doing`
 * says what was refused. Called before anything is deleted, so a refusal
 * deletes nothing.
 */
export function refuseForeignData(home: string, doing: string): void {
  const root = dataRootOf(home);
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isDirectory()) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new OperatingError(
      `${root} is ${what}, which paxos did not make and does not delete through, so it cannot ${doing}; move it away or set PAXOS_HOME to another directory`,
    );
  }
  const foreign = readdirSync(root, { withFileTypes: true })
    .filter((e) => !madeByPaxos(root, e))
    .map(describeEntry)
    .sort();
  if (foreign.length === 0) return;
  throw new OperatingError(
    `${root} holds ${foreign.join(', ')}, which paxos did not make, so it will not ${doing}: paxos deletes only its manifest.json, its node-N.mark files, the node-N directories that carry its ${IDENTITY_FILE_NAME} and the node-N.lost-TIME directories \`paxos recover\` set aside; move ${foreign.length === 1 ? 'that' : 'those'} out of ${root} or set PAXOS_HOME to another directory`,
  );
}

/**
 * Whether a `data/` entry is paxos's own: the manifest (or the temporary copy
 * a cut-short write of it leaves), a replica's high-water mark file, or a real directory `node-N` that carries
 * a replica identity file or is empty. A link is never ours, whatever its name.
 */
function madeByPaxos(root: string, e: Dirent): boolean {
  // node-N.mark is a replica's high-water mark, kept beside its directory so a copy of the directory does not carry it.
  if (e.isFile())
    return (
      e.name === 'manifest.json' ||
      /^manifest\.json\.\d+\.tmp$/.test(e.name) ||
      /^node-\d+(\.lost-\d{8}T\d{6}Z)?\.mark(\.\d+\.tmp)?$/.test(e.name)
    );
  // The data a `paxos recover` set aside, whatever is left in it (it was found damaged).
  if (e.isDirectory() && LOST_DATA.test(e.name)) return true;
  if (!e.isDirectory() || !/^node-\d+$/.test(e.name)) return false;
  const dir = join(root, e.name);
  return (
    lstatSync(join(dir, IDENTITY_FILE_NAME), { throwIfNoEntry: false })?.isFile() === true ||
    readdirSync(dir).length === 0
  );
}

/** The name `paxos recover` gives a replica's lost data directory (storage/identity.ts setAsideLostData). */
const LOST_DATA = /^node-\d+\.lost-\d{8}T\d{6}Z$/;

function describeEntry(e: Dirent): string {
  if (e.isSymbolicLink()) return `${e.name} (a symbolic link)`;
  if (e.isDirectory()) return `${e.name}/`;
  return e.name;
}

/** node-2 before node-10, and manifest.json first. */
function byNodeNumber(a: string, b: string): number {
  const n = (s: string) => Number(/^node-(\d+)$/.exec(s)?.[1] ?? -1);
  return n(a) - n(b) || a.localeCompare(b);
}

/** What `deleteData` deleted, as one line: `deleted /h/data (120.3 KiB): manifest.json 312 B, node-1 40.0 KiB, …`. */
export function describeDeleted(d: DeletedData): string {
  const parts = d.entries.map((e) => `${e.path.slice(d.path.length + 1)} ${formatBytes(e.bytes)}`);
  return `deleted ${d.path} (${formatBytes(d.bytes)}): ${parts.join(', ')}`;
}
