/** TLS files and identities: `paxos certs`' output, the cluster file's tls section, a replica's TLS flags, and each mistake in one sentence. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCerts } from '../../src/cli/services/certs.js';
import { resolveReplicaArgs } from '../../src/cli/services/replica-args.js';
import { clientTlsOf, readClusterFile } from '../../src/cluster/cluster-file.js';
import { certificateNode, checkOwnCertificate } from '../../src/transport/tls.js';

test('paxos certs: a CA, node certificates naming paxos://CLUSTER/node/N with the hosts, a client certificate, private keys, never overwritten', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-certs-'));
  try {
    const out = join(dir, 'certs');
    const files = await makeCerts({ out, clusterId: 'c1', nodes: 2, hosts: ['node1.example', '10.0.0.2'], days: 30 });
    assert.equal(files.length, 8);
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    const node2 = new X509Certificate(readFileSync(join(out, 'node-2.crt')));
    assert.ok(ca.ca);
    assert.ok(node2.verify(ca.publicKey), "node-2's certificate is signed by the CA");
    assert.ok(node2.checkIssued(ca));
    assert.equal(certificateNode(node2.subjectAltName, 'c1'), 2);
    assert.equal(certificateNode(node2.subjectAltName, 'other'), null, "another cluster's id is not this node");
    assert.match(node2.subjectAltName ?? '', /DNS:node1\.example/);
    assert.match(node2.subjectAltName ?? '', /IP Address:10\.0\.0\.2/);
    const client = new X509Certificate(readFileSync(join(out, 'client.crt')));
    assert.equal(certificateNode(client.subjectAltName, 'c1'), null, 'a client certificate names no node');
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'a client certificate may only authenticate a client');
    assert.equal(statSync(join(out, 'node-1.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'ca.key')).mode & 0o777, 0o600);
    await assert.rejects(
      makeCerts({ out, clusterId: 'c1', nodes: 2, hosts: [], days: 30 }),
      /ca\.crt exists already; paxos certs never overwrites a key or certificate/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the cluster file's tls section: {id} is the replica's own files, flags win, the three come together, the certificate must be the node's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-tlsfile-'));
  try {
    await makeCerts({ out: join(dir, 'certs'), clusterId: 'k', nodes: 3, hosts: [], days: 30 });
    writeFileSync(join(dir, 'token'), 'secret\n');
    const file = join(dir, 'cluster.json');
    const members = [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${7000 + id}` }));
    const tls = {
      caFile: 'certs/ca.crt',
      certFile: 'certs/node-{id}.crt',
      keyFile: 'certs/node-{id}.key',
      clientCertFile: 'certs/client.crt',
      clientKeyFile: 'certs/client.key',
      clientCertAuth: true,
    };
    writeFileSync(file, JSON.stringify({ clusterId: 'k', tokenFile: 'token', tls, members }));
    const flags = {
      id: 2,
      listen: '127.0.0.1:7002',
      clusterFile: file,
      data: join(dir, 'd'),
      initialState: 'new' as const,
    };
    const own = resolveReplicaArgs(flags).standalone?.tls;
    assert.equal(own?.clientCertAuth, true);
    assert.equal(checkOwnCertificate({ cert: own?.cert ?? '', clusterId: 'k', node: 2, file: 'x' }), null);
    assert.equal(own?.cert, readFileSync(join(dir, 'certs', 'node-2.crt'), 'utf8'));
    // Flags win over the file; another node's certificate stops the replica with one sentence.
    assert.throws(
      () =>
        resolveReplicaArgs({
          ...flags,
          certFile: join(dir, 'certs', 'node-3.crt'),
          keyFile: join(dir, 'certs', 'node-3.key'),
        }),
      /node-3\.crt is not node-2's certificate in cluster k: it names paxos:\/\/k\/node\/3, and node-2 needs paxos:\/\/k\/node\/2/,
    );
    const client = clientTlsOf(readClusterFile(file));
    assert.equal(client?.cert, readFileSync(join(dir, 'certs', 'client.crt'), 'utf8'));
    assert.equal(client?.clusterId, 'k');
    // Without a tls section: no TLS, and --client-cert-auth alone or a lone file is a usage error.
    writeFileSync(file, JSON.stringify({ clusterId: 'k', tokenFile: 'token', members }));
    assert.equal(resolveReplicaArgs(flags).standalone?.tls, undefined);
    assert.equal(clientTlsOf(readClusterFile(file)), undefined);
    assert.throws(() => resolveReplicaArgs({ ...flags, clientCertAuth: true }), /--client-cert-auth needs TLS/);
    assert.throws(
      () => resolveReplicaArgs({ ...flags, certFile: join(dir, 'certs', 'node-2.crt') }),
      /TLS takes three files together: --cert-file, --key-file and --trusted-ca-file/,
    );
    writeFileSync(
      file,
      JSON.stringify({ clusterId: 'k', tokenFile: 'token', tls: { ...tls, caFile: 'nope.crt' }, members }),
    );
    assert.throws(() => resolveReplicaArgs(flags), /cannot read the CA certificate .*nope\.crt/);
    writeFileSync(
      file,
      JSON.stringify({ clusterId: 'k', tokenFile: 'token', tls: { ...tls, certfile: 'x' }, members }),
    );
    assert.throws(() => readClusterFile(file), /is not valid at tls/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
