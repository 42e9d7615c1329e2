/**
 * The orchestrator's watch on its home (home-watch.ts), on an in-memory file
 * system: a home, data folder or control socket deleted or replaced, a
 * record naming another orchestrator or a manifest naming another cluster is
 * one sentence; the home as it started is none. The watch is driven by hand,
 * tick by tick, so nothing here depends on time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type HomeProbe,
  homeLostBecause,
  noteHome,
  socketIsOursOrGone,
  watchHome,
} from '../../src/cluster/home-watch.js';
import { OperatingError } from '../../src/errors.js';

const HOME = '/h';
const SOCKET = join(HOME, 'control.sock');
const RECORD = join(HOME, 'cluster.json');
const MANIFEST = join(HOME, 'data', 'manifest.json');
const CLUSTER = '0123456789abcdef';
const PID = 4242;

/** Inode numbers are never reused across the in-memory homes, as a new directory on one disk never has a live one's. */
let nextIno = 1;

/** Paths to an inode and, for files, their JSON (or the error reading them throws). */
class MemoryFs implements HomeProbe {
  readonly ids = new Map<string, string>();
  readonly json = new Map<string, unknown>();
  readonly unreadable = new Map<string, string>();

  put(path: string, content?: unknown): void {
    this.ids.set(path, `1:${nextIno++}`);
    if (content !== undefined) this.json.set(path, content);
  }

  /** Removes `path` and everything under it, as rm -rf or a rename away does. */
  remove(path: string): void {
    for (const p of [...this.ids.keys()])
      if (p === path || p.startsWith(`${path}/`)) {
        this.ids.delete(p);
        this.json.delete(p);
      }
  }

  idOf(path: string): string | null {
    return this.ids.get(path) ?? null;
  }

  readJson(path: string): unknown {
    const reason = this.unreadable.get(path);
    if (reason !== undefined) throw new Error(reason);
    return this.ids.has(path) ? (this.json.get(path) ?? null) : null;
  }
}

/** A home as a running cluster leaves it: data folder, socket, record naming this orchestrator, manifest naming this cluster. */
function homeOf(o: { pid?: number; clusterId?: string } = {}): MemoryFs {
  const fs = new MemoryFs();
  fs.put(HOME);
  fs.put(join(HOME, 'data'));
  fs.put(SOCKET);
  fs.put(RECORD, { cluster: { orchestratorPid: o.pid ?? PID, clusterId: o.clusterId ?? CLUSTER } });
  fs.put(MANIFEST, { clusterId: o.clusterId ?? CLUSTER });
  return fs;
}

function started(fs: MemoryFs) {
  return noteHome({ home: HOME, socketPath: SOCKET, clusterId: CLUSTER, pid: PID }, fs);
}

const STOP = 'the orchestrator stops its replicas and exits, deleting nothing';

test('the home the cluster started in, untouched, is not lost', () => {
  const fs = homeOf();
  assert.equal(homeLostBecause(started(fs), fs), null);
  // A record without a cluster id (written before ids) still counts when it names this orchestrator.
  fs.put(RECORD, { cluster: { orchestratorPid: PID } });
  assert.equal(homeLostBecause(started(fs), fs), null);
});

test('a home deleted, moved away or replaced is one sentence', () => {
  let fs = homeOf();
  let s = started(fs);
  fs.remove(HOME);
  assert.equal(homeLostBecause(s, fs), `the paxos home /h was deleted or moved away while the cluster ran; ${STOP}`);

  fs = homeOf();
  s = started(fs);
  // Another cluster's home put in its place: every file there is new, and the home itself is another directory.
  fs.remove(HOME);
  const other = homeOf({ pid: 999, clusterId: 'fedcba9876543210' });
  assert.equal(homeLostBecause(s, other), `the paxos home /h was replaced by another while the cluster ran; ${STOP}`);
});

test('a data folder or control socket deleted or replaced is one sentence', () => {
  let fs = homeOf();
  let s = started(fs);
  fs.remove(join(HOME, 'data'));
  assert.equal(
    homeLostBecause(s, fs),
    `its data folder /h/data was deleted or moved away while the cluster ran; ${STOP}`,
  );

  fs = homeOf();
  s = started(fs);
  fs.remove(SOCKET);
  assert.equal(
    homeLostBecause(s, fs),
    `the control socket /h/control.sock was deleted or moved away while the cluster ran; ${STOP}`,
  );
  fs.put(SOCKET);
  assert.equal(
    homeLostBecause(s, fs),
    `the control socket /h/control.sock was replaced by another while the cluster ran; ${STOP}`,
  );
});

test('a record deleted, cleared or naming another orchestrator is one sentence', () => {
  const fs = homeOf();
  const s = started(fs);
  fs.remove(RECORD);
  const gone = `the cluster record /h/cluster.json was deleted or cleared while the cluster ran, so no command could find it; ${STOP}`;
  assert.equal(homeLostBecause(s, fs), gone);
  fs.put(RECORD, {});
  assert.equal(homeLostBecause(s, fs), gone);
  fs.put(RECORD, { cluster: { orchestratorPid: 999, clusterId: CLUSTER } });
  assert.equal(
    homeLostBecause(s, fs),
    `the cluster record /h/cluster.json now names another cluster (orchestrator pid 999 of cluster ${CLUSTER}, not pid ${PID} of ${CLUSTER}); ${STOP}`,
  );
  fs.put(RECORD, { cluster: { orchestratorPid: PID, clusterId: 'fedcba9876543210' } });
  assert.match(homeLostBecause(s, fs) ?? '', /now names another cluster \(orchestrator pid 4242 of cluster fedcba/);
  fs.put(RECORD, { cluster: { orchestratorPid: PID } });
  fs.unreadable.set(RECORD, 'EACCES: permission denied');
  assert.equal(
    homeLostBecause(s, fs),
    `/h/cluster.json became unreadable while the cluster ran (EACCES: permission denied); ${STOP}`,
  );
});

test('a manifest deleted or naming another cluster is one sentence', () => {
  const fs = homeOf();
  const s = started(fs);
  fs.remove(MANIFEST);
  assert.equal(homeLostBecause(s, fs), `the manifest /h/data/manifest.json was deleted while the cluster ran; ${STOP}`);
  fs.put(MANIFEST, { clusterId: 'fedcba9876543210' });
  assert.equal(
    homeLostBecause(s, fs),
    `the manifest /h/data/manifest.json now names another cluster (fedcba9876543210, not ${CLUSTER}); ${STOP}`,
  );
  fs.put(MANIFEST, 7);
  assert.equal(homeLostBecause(s, fs), `/h/data/manifest.json no longer holds a JSON object; ${STOP}`);
});

test('a home missing a part when the cluster has just started is refused in one sentence', () => {
  const fs = homeOf();
  fs.remove(SOCKET);
  assert.throws(
    () => started(fs),
    (err) =>
      err instanceof OperatingError &&
      err.message === '/h/control.sock disappeared while the cluster started; start it again with `paxos up`',
  );
});

test('the socket may be closed only when its path holds this orchestrator socket or nothing', () => {
  const fs = homeOf();
  const s = started(fs);
  assert.equal(socketIsOursOrGone(s, fs), true);
  fs.remove(HOME);
  assert.equal(socketIsOursOrGone(s, fs), true);
  // Another orchestrator's socket at the same path: closing would unlink it.
  fs.put(SOCKET);
  assert.equal(socketIsOursOrGone(s, fs), false);
});

test('the watch says the lost home once, then stops; stopped, it says nothing', () => {
  const fs = homeOf();
  let tick: (() => void) | null = null;
  let cleared = 0;
  const repeat = (check: () => void) => {
    tick = check;
    return () => {
      cleared++;
    };
  };
  const said: string[] = [];
  const stop = watchHome(started(fs), { onLost: (s) => said.push(s), probe: fs }, repeat);
  const fire = () => (tick as (() => void) | null)?.();
  fire();
  fire();
  assert.deepEqual(said, []);
  fs.remove(HOME);
  fire();
  fire();
  assert.deepEqual(said, [`the paxos home /h was deleted or moved away while the cluster ran; ${STOP}`]);
  assert.equal(cleared, 1, 'the repeat is stopped once the home is lost');

  const fs2 = homeOf();
  const said2: string[] = [];
  const stop2 = watchHome(started(fs2), { onLost: (s) => said2.push(s), probe: fs2 }, repeat);
  stop2();
  fs2.remove(HOME);
  fire();
  assert.deepEqual(said2, [], 'a stopped watch (`paxos down` under way) says nothing');
  stop();
});
