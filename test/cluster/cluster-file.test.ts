/** The cluster file and --peers: members by id, addresses (names allowed), the token file beside the cluster file; mistakes in one sentence. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { idFromOrdinal, resolveReplicaArgs } from '../../src/cli/services/replica-args.js';
import { parseAddress, parsePeers, readClusterFile } from '../../src/cluster/cluster-file.js';

test('addresses and --peers', () => {
  assert.deepEqual(parseAddress('paxos-0.paxos:7001', 'x'), { host: 'paxos-0.paxos', port: 7001 });
  assert.deepEqual(parseAddress('[fd00::1]:7001', 'x'), { host: 'fd00::1', port: 7001 });
  assert.throws(() => parseAddress('nohost', '--listen'), /--listen must be HOST:PORT/);
  assert.deepEqual(
    [...parsePeers('1=10.0.0.1:7001,node-2=b:7002')],
    [
      [1, { host: '10.0.0.1', port: 7001 }],
      [2, { host: 'b', port: 7002 }],
    ],
  );
  assert.throws(() => parsePeers('1=a:1,1=b:2'), /names node-1 twice/);
});

test('a StatefulSet ordinal is the id minus one', () => {
  assert.equal(idFromOrdinal('paxos-0'), 1);
  assert.equal(idFromOrdinal('db-paxos-12'), 13);
  assert.throws(() => idFromOrdinal('paxos'), /ordinal/);
});

test('a cluster file gives members, protocol and a token path relative to it; a replica resolves its flags from it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-cf-'));
  try {
    writeFileSync(join(dir, 'token'), 'secret\n');
    const file = join(dir, 'cluster.json');
    writeFileSync(
      file,
      JSON.stringify({
        clusterId: 'k',
        tokenFile: 'token',
        members: [
          { id: 1, address: 'paxos-0.paxos:7001' },
          { id: 2, address: 'paxos-1.paxos:7001' },
          { id: 3, address: 'paxos-2.paxos:7001' },
        ],
      }),
    );
    const cf = readClusterFile(file);
    assert.equal(cf.clusterId, 'k');
    assert.equal(cf.protocol, 'multi');
    assert.equal(cf.tokenFile, join(dir, 'token'));
    const args = resolveReplicaArgs(
      { idFromOrdinal: true, listen: '0.0.0.0:7001', clusterFile: file, data: join(dir, 'd'), initialState: 'new' },
      { HOSTNAME: 'paxos-1' },
    );
    assert.equal(args.id, 2);
    assert.equal(args.clusterSize, 3);
    assert.equal(args.secret, 'secret');
    assert.deepEqual(args.standalone?.advertise, { host: 'paxos-1.paxos', port: 7001 });
    assert.throws(
      () =>
        resolveReplicaArgs({
          id: 1,
          listen: '0.0.0.0:7001',
          clusterFile: file,
          data: join(dir, 'd'),
          initialState: 'existing',
        }),
      /--initial-state existing: node-1's data directory .* holds no data/,
    );
    writeFileSync(file, JSON.stringify({ clusterId: 'k', members: [{ id: 0, address: 'a:1' }] }));
    assert.throws(() => readClusterFile(file), /is not valid at members\.0\.id/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('members marked joined start as learners and leave the bootstrap size alone; separate tokens must differ', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-cf-'));
  try {
    for (const t of ['peer', 'admin', 'client']) writeFileSync(join(dir, t), `${t}-secret\n`);
    writeFileSync(join(dir, 'same'), 'peer-secret\n');
    const write = (members: object[], tokens: object = { peer: 'peer', admin: 'admin', client: 'client' }) => {
      const file = join(dir, 'cluster.json');
      writeFileSync(file, JSON.stringify({ clusterId: 'k', tokens, members }));
      return file;
    };
    const three = [1, 2, 3].map((id) => ({ id, address: `h${id}:7001` }));
    const grown = write([...three, { id: 4, address: 'h4:7001', joined: true }]);
    const parsed = readClusterFile(grown);
    assert.equal(parsed.bootstrapSize, 3);
    assert.deepEqual([...parsed.joined], [4]);
    const flags = { listen: '0.0.0.0:7001', clusterFile: grown, data: join(dir, 'd'), initialState: 'new' as const };
    const learner = resolveReplicaArgs({ ...flags, id: 4 });
    assert.equal(learner.clusterSize, 3, 'the bootstrap voters stay node-1 to node-3');
    assert.deepEqual(learner.contacts, [1, 2, 3]);
    const voter = resolveReplicaArgs({ ...flags, id: 2 });
    assert.equal(voter.clusterSize, 3);
    assert.equal(voter.contacts, undefined);
    assert.equal(voter.standalone?.adminSecret, 'admin-secret');
    assert.equal(voter.standalone?.clientSecret, 'client-secret');
    assert.throws(
      () =>
        readClusterFile(
          write([...three.slice(0, 2), { id: 3, address: 'h3:7001', joined: true }, { id: 4, address: 'h4:7001' }]),
        ),
      /must be node-1 to node-3; node-3 is missing or marked joined/,
    );
    const same = write(three, { peer: 'peer', admin: 'same' });
    assert.throws(() => resolveReplicaArgs({ ...flags, clusterFile: same, id: 1 }), /admin token must differ/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
