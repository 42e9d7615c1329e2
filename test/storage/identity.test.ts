/**
 * A replica must not start from a data directory that is not its own: one
 * emptied or deleted (it would have forgotten its promises), one of another
 * cluster, or one of another replica. Every other start records one more
 * incarnation, durably.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimIdentity, IdentityError, IDENTITY_FILE_NAME, readIdentity, writeIdentity } from '../../src/storage/identity.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const CLUSTER = '0123456789abcdef';

function nodeDir(): string {
  return join(tempDir(), 'node-2');
}

test('a new replica of a new cluster creates its identity at incarnation 1', () => {
  const dir = nodeDir();
  const id = claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false });
  assert.deepEqual(id, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 1 });
  assert.deepEqual(readIdentity(dir), id);
});

test('every start from the replica\'s own data bumps the incarnation and leaves no temporary file', () => {
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

test('a replica whose log was deleted while its identity stayed is refused: it would have forgotten its promises', () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 2, incarnation: 3 });
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), (err: Error) => err instanceof IdentityError && /has its identity but no log \(wal\.log\).*paxos up --fresh/.test(err.message));
  assert.equal(readIdentity(dir)?.incarnation, 3, 'a refused start does not bump the incarnation');
});

test('an emptied data directory is refused in one sentence naming the way back', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), (err: unknown) => {
    assert.ok(err instanceof IdentityError);
    assert.match(err.message, new RegExp(`^node-2's data directory ${dir} is empty: it would rejoin having forgotten its promises, which can break agreement; .*\`paxos replace node-2\`.*\`paxos up --fresh\`$`));
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  assert.deepEqual(readdirSync(dir), [], 'a refused start writes nothing');
});

test('a deleted data directory is refused and not recreated', () => {
  const dir = nodeDir();
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), /node-2's data directory .* is missing: it would rejoin having forgotten its promises/);
  assert.throws(() => readdirSync(dir), /ENOENT/);
});

test('data without an identity file is refused when data is expected', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'wal.log'), '');
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), /has no identity\.json: it would rejoin/);
});

test('another cluster\'s or another replica\'s data is refused, even for a new replica', () => {
  const dir = nodeDir();
  writeIdentity(dir, { version: 1, clusterId: 'ffffffffffffffff', node: 2, incarnation: 4 });
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: false }), /belongs to another cluster \(ffffffffffffffff, not 0123456789abcdef\).*`paxos up --fresh`/);
  writeIdentity(dir, { version: 1, clusterId: CLUSTER, node: 3, incarnation: 4 });
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), /holds node-3's data/);
  assert.equal(readIdentity(dir)?.incarnation, 4, 'a refused start does not bump the incarnation');
});

test('a damaged identity file is refused, not overwritten', () => {
  const dir = nodeDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, IDENTITY_FILE_NAME), '{"version":1,"clus');
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), (err: unknown) => err instanceof IdentityError && /is not valid JSON/.test(err.message));
  writeFileSync(join(dir, IDENTITY_FILE_NAME), '{"version":1,"clusterId":"x","node":2}');
  assert.throws(() => claimIdentity({ dataDir: dir, node: 2, clusterId: CLUSTER, expectData: true }), /is not a valid identity/);
  rmSync(dir, { recursive: true });
});
