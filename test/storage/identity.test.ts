/**
 * A replica must not start from a data directory that is not its own: one
 * emptied or deleted (it would have forgotten its promises), one of another
 * cluster, or one of another replica. Every other start records one more
 * incarnation and the log's high-water mark, durably. (A log that falls
 * short of the mark is damage.test.ts's.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkIdentity,
  IDENTITY_FILE_NAME,
  type IdentityCheck,
  IdentityError,
  markFileOf,
  readIdentity,
  recordStart,
  setAsideLostData,
  writeIdentity,
} from '../../src/storage/identity.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const CLUSTER = '0123456789abcdef';

function nodeDir(): string {
  return join(tempDir(), 'node-2');
}

/** What a replica does at start without its log: check, then record the start at the mark the log reached. */
function claimIdentity(c: IdentityCheck, reached = 0) {
  return recordStart(c.dataDir, checkIdentity(c).identity, reached);
}

test('a new replica of a new cluster creates its identity at incarnation 1', () => {
  const dir = nodeDir();
  const id = claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false });
  assert.deepEqual(id, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 1, logReached: 0 });
  assert.deepEqual(readIdentity(dir), id);
  assert.deepEqual(
    JSON.parse(readFileSync(markFileOf(dir), 'utf8')),
    { version: 1, clusterId: CLUSTER, node: 2, reached: 0 },
    'the witness beside the directory',
  );
});

test("the mark the log must reach is the greater of the identity's and the witness's; none before a log was ever created", () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 0 });
  const check = { dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true };
  assert.equal(checkIdentity(check).mustReach, null, 'a replica that never started may create its log');
  const started = recordStart(dir, checkIdentity(check).identity, 7);
  assert.equal(checkIdentity(check).mustReach, 7);
  // The directory copied back from before: its identity is older, the witness beside it is not.
  writeIdentity(dir, { ...started, logReached: 3 });
  assert.equal(checkIdentity(check).mustReach, 7);
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 0 });
  assert.equal(checkIdentity(check).mustReach, 7, 'even an identity from before the first start');
  // Data of an earlier paxos: started, but no mark: the log must still exist.
  rmSync(markFileOf(dir));
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 2 });
  assert.equal(checkIdentity(check).mustReach, 0);
  // A witness of another cluster (left by an earlier one) does not count.
  writeFileSync(markFileOf(dir), JSON.stringify({ version: 1, clusterId: 'ffffffffffffffff', node: 2, reached: 99 }));
  assert.equal(checkIdentity(check).mustReach, 0);
  writeFileSync(markFileOf(dir), '{"vers');
  assert.throws(
    () => checkIdentity(check),
    (err: unknown) =>
      err instanceof IdentityError &&
      /node-2\.mark \(node-2's high-water mark\) is not valid JSON/.test((err as Error).message),
  );
});

test("every start from the replica's own data bumps the incarnation and leaves no temporary file", () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 0 });
  for (let i = 1; i <= 3; i++) {
    assert.equal(claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }).incarnation, i);
    // What the storage does right after the claim: open (and so create) the log.
    writeFileSync(join(dir, 'wal.log'), '');
  }
  assert.deepEqual(readdirSync(dir).sort(), [IDENTITY_FILE_NAME, 'wal.log'].sort());
  assert.equal(JSON.parse(readFileSync(join(dir, IDENTITY_FILE_NAME), 'utf8')).incarnation, 3);
});

test('an emptied data directory is refused in one sentence naming the way back', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    (err: unknown) => {
      assert.ok(err instanceof IdentityError);
      assert.match(
        err.message,
        new RegExp(
          `^node-2's data directory ${dir} is empty: it would rejoin having forgotten its promises, which can break agreement; .*\`paxos replace node-2\`.*\`paxos up --fresh\`$`,
        ),
      );
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
  assert.deepEqual(readdirSync(dir), [], 'a refused start writes nothing');
});

test('a deleted data directory is refused and not recreated', () => {
  const dir = nodeDir();
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    /node-2's data directory .* is missing: it would rejoin having forgotten its promises/,
  );
  assert.throws(() => readdirSync(dir), /ENOENT/);
});

test('data without an identity file is refused when data is expected', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'wal.log'), '');
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    /has no identity\.json: it would rejoin/,
  );
});

test("another cluster's or another replica's data is refused, even for a new replica", () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: 'ffffffffffffffff', node: 2, incarnation: 4 });
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false }),
    /belongs to another cluster \(ffffffffffffffff, not 0123456789abcdef\).*`paxos up --fresh`/,
  );
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 3, incarnation: 4 });
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    /holds node-3's data/,
  );
  assert.equal(readIdentity(dir)?.incarnation, 4, 'a refused start does not bump the incarnation');
});

test('a damaged identity file is refused, not overwritten', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, IDENTITY_FILE_NAME), '{"version":1,"clus');
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    (err: unknown) => err instanceof IdentityError && /is not valid JSON/.test(err.message),
  );
  writeFileSync(join(dir, IDENTITY_FILE_NAME), '{"version":1,"clusterId":"x","node":2}');
  assert.throws(
    () => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }),
    /is not a valid identity/,
  );
  rmSync(dir, { recursive: true });
});

test('recover sets a lost directory aside, never deleting it, and a fresh one says recovering at the same incarnation', () => {
  const dir = nodeDir();
  const c = { dataDir: dir, node: 2, clusterId: CLUSTER };
  claimIdentity({ ...c, expectData: false }, 7);
  writeFileSync(join(dir, 'wal.log'), ''); // the damage: its log emptied
  const aside = setAsideLostData(c, new Date('2026-12-06T21:40:12.345Z'));
  assert.equal(aside, `${dir}.lost-20261206T214012Z`);
  assert.deepEqual(readdirSync(aside ?? '').sort(), [IDENTITY_FILE_NAME, 'wal.log'], 'the lost data is kept whole');
  assert.equal(JSON.parse(readFileSync(`${aside}.mark`, 'utf8')).reached, 7, 'its high-water mark goes with it');
  assert.deepEqual(readIdentity(dir), { version: 1, clusterId: CLUSTER, node: 2, incarnation: 1, recovering: true });
  // The fresh directory may create its log: no mark says it must reach anything yet.
  assert.equal(checkIdentity({ ...c, expectData: true }).mustReach, null);
  const started = claimIdentity({ ...c, expectData: true }, 0);
  assert.equal(started.incarnation, 2, 'peers never see its incarnation go back');
  assert.equal(started.recovering, true, 'every later start still recovers');
});

test("recover refuses a directory that is not the replica's own, and moves nothing", () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 3, incarnation: 4 });
  assert.throws(
    () => setAsideLostData({ dataDir: dir, node: 2, clusterId: CLUSTER }, new Date()),
    /holds node-3's data, not node-2's: paxos sets aside only a replica's own lost data/,
  );
  assert.equal(readIdentity(dir)?.node, 3);
  writeIdentity(dir, { version: 1, clusterId: 'fedcba9876543210', node: 2, incarnation: 4 });
  assert.throws(
    () => setAsideLostData({ dataDir: dir, node: 2, clusterId: CLUSTER }, new Date()),
    /holds cluster fedcba9876543210's data, not node-2's/,
  );
});

test('a start removes what a crash left of a replacement of the identity or the mark, and nothing else', () => {
  const home = tempDir();
  const dir = join(home, 'node-2');
  const check = { dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false };
  claimIdentity(check);
  // A SIGKILL between writing a replacement and renaming it over the file leaves these behind.
  writeFileSync(join(dir, 'identity.json.4242.tmp'), '{"torn');
  writeFileSync(`${markFileOf(dir)}.4243.tmp`, '{"torn');
  writeFileSync(join(home, 'node-2.mark.notes.tmp'), "not paxos's");
  writeFileSync(join(dir, 'identity.json.tmp.bak'), "not paxos's");
  claimIdentity(check);
  assert.deepEqual(readdirSync(home).sort(), ['node-2', 'node-2.mark', 'node-2.mark.notes.tmp']);
  assert.ok(readdirSync(dir).includes('identity.json.tmp.bak'), 'a name replaceFileDurably does not make stays');
  assert.ok(!readdirSync(dir).includes('identity.json.4242.tmp'));
});
