/**
 * `paxos replica` over TLS on loopback: `paxos certs` makes a CA and node
 * certificates, three replicas read the cluster file's tls section (with
 * client-cert-auth) and form a cluster that decides, and `--cluster`
 * clients reach it over wss://. Then what must be refused is refused with
 * one sentence: a client without a certificate, a client of another CA, a
 * replica started with another node's certificate (at start), a peer that
 * presents node-2's certificate as node-3 (by the replica it dials), a
 * server whose certificate is not the node the client meant to dial (by the
 * client), and a replica whose certificates come from another CA (by the
 * replicas it dials, and by it).
 *
 * Binds 127.0.0.1 only; every process started is stopped by its pid.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { bin, paxos, succeeds } from '../support/cli.js';

const CLUSTER = 'tls-lab';
const TOKEN = 'tls-test-token-0123456789';

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitFor(what: string, attempts: number, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Lab {
  readonly dir: string;
  readonly members: readonly { id: number; address: string }[];
  readonly tls: Record<string, unknown>;
  readonly cluster: string;
  readonly procs: Map<number, ChildProcess>;
  file(name: string, body: object): string;
  start(id: number, ...extra: string[]): ChildProcess;
  log(id: number): string;
}

/** Two CAs' certificates from `paxos certs`, a token, and a cluster file whose tls section uses the first CA with client-cert-auth. */
async function tlsLab(after: (fn: () => void) => void): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-tls-'));
  const procs = new Map<number, ChildProcess>();
  after(() => {
    for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await succeeds(dir, 'certs', '--out', join(dir, 'a'), '--cluster-id', CLUSTER, '--nodes', '3');
  await succeeds(dir, 'certs', '--out', join(dir, 'b'), '--cluster-id', CLUSTER, '--nodes', '3');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const ports = await freePorts(3);
  const members = ports.map((port, i) => ({ id: i + 1, address: `127.0.0.1:${port}` }));
  const tls = {
    caFile: 'a/ca.crt',
    certFile: 'a/node-{id}.crt',
    keyFile: 'a/node-{id}.key',
    clientCertFile: 'a/client.crt',
    clientKeyFile: 'a/client.key',
    clientCertAuth: true,
  };
  const file = (name: string, body: object) => {
    writeFileSync(join(dir, name), JSON.stringify({ clusterId: CLUSTER, tokenFile: 'token', members, ...body }));
    return join(dir, name);
  };
  const cluster = file('cluster.json', { tls });
  const start = (id: number, ...extra: string[]) => {
    const out = openSync(join(dir, `node-${id}.log`), 'a');
    const p = spawn(
      process.execPath,
      [
        bin,
        'replica',
        '--id',
        String(id),
        '--listen',
        members[id - 1].address,
        '--cluster-file',
        cluster,
        '--data',
        join(dir, `d${id}`),
        ...extra,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    procs.set(id, p);
    return p;
  };
  const log = (id: number) => readFileSync(join(dir, `node-${id}.log`), 'utf8');

  return { dir, members, tls, cluster, procs, file, start, log };
}

test('three replicas over mutual TLS decide; wrong certificates and certificate-less clients are refused', async (t) => {
  const lab = await tlsLab((fn) => t.after(fn));
  await formsAndDecides(lab, (line) => t.diagnostic(line));
  await refusesClients(lab);
  await refusesImpostors(lab);
  await refusesAnotherCa(lab);
});

/** Three replicas from the cluster file form over wss:// and decide; a --cluster client reads the value. */
async function formsAndDecides(lab: Lab, say: (line: string) => void): Promise<void> {
  const { dir, cluster, start, log } = lab;
  const started = Date.now();
  for (const id of [1, 2, 3]) start(id);
  await waitFor(
    'the TLS cluster to decide',
    100,
    async () => (await paxos(dir, 'propose', 'x=7', '--cluster', cluster)).exitCode === 0,
  );
  say(`3 replicas over mutual TLS: first value chosen ${Date.now() - started} ms after they were spawned`);
  assert.match(log(1), /wss:\/\/ with mutual TLS as paxos:\/\/tls-lab\/node\/1, client certificates required/);
  const got = await succeeds(dir, 'get', 'x', '--cluster', cluster, '--json');
  assert.equal((JSON.parse(got.stdout) as { value: string }).value, '7');
}

/** Clients without a certificate, of another CA, or dialling a node whose certificate is another's, are refused with one sentence. */
async function refusesClients(lab: Lab): Promise<void> {
  const { dir, members, tls, log } = lab;
  // A client with no certificate, under client-cert-auth: refused, and told why.
  const { clientCertFile: _c, clientKeyFile: _k, ...noCert } = tls;
  await clientRefused(
    lab,
    'no-cert.json',
    { tls: noCert },
    /a control client presented no certificate; with --client-cert-auth, clients need one/,
  );
  assert.match(log(1), /refused a connection from 127\.0\.0\.1: a control client presented no certificate/);
  // A plain ws:// client: the replica resets the connection, and the client says what may be missing.
  await clientRefused(
    lab,
    'plain.json',
    {},
    /connection was reset .*\(if the replicas serve TLS, the cluster file needs a tls section with caFile\)/,
  );
  // A client whose certificate and CA are another CA's: it does not trust the replicas, nor they it.
  const otherCa = { ...tls, caFile: 'b/ca.crt', clientCertFile: 'b/client.crt', clientKeyFile: 'b/client.key' };
  await clientRefused(lab, 'other-ca.json', { tls: otherCa }, /its certificate is not signed by this cluster's CA/);

  // The client checks the id too: node-2's address listed as node-3's serves node-2's certificate.
  const swapped = [members[0], { id: 2, address: members[2].address }, { id: 3, address: members[1].address }];
  writeFileSync(
    join(dir, 'swapped.json'),
    JSON.stringify({ clusterId: CLUSTER, tokenFile: 'token', members: swapped, tls }),
  );
  const status = await succeeds(dir, 'status', '--cluster', join(dir, 'swapped.json'), '--json');
  const rows = (JSON.parse(status.stdout) as { replicas: { id: number; up: boolean; error?: string }[] }).replicas;
  assert.match(
    rows.find((r) => r.id === 3)?.error ?? '',
    /its certificate is not node-3's: it names paxos:\/\/tls-lab\/node\/2/,
  );
}

/** A `paxos get` through a cluster file with this tls section fails, and its stderr says why in the expected words. */
async function clientRefused(lab: Lab, name: string, section: object, why: RegExp): Promise<void> {
  const result = await paxos(lab.dir, 'get', 'x', '--cluster', lab.file(name, section));
  assert.notEqual(result.exitCode, 0, `a client with ${name} should be refused`);
  assert.match(result.stderr, why);
}

/** A peer presenting node-2's certificate as node-3 is refused by the replica it dials. */
async function refusesImpostors(lab: Lab): Promise<void> {
  const { dir, members, log } = lab;
  // A peer that says it is node-3 but presents node-2's certificate (right token, right cluster) is refused by the replica it dials.
  const impostor = () =>
    dialPeer(members[0].address, {
      as: 3,
      cert: join(dir, 'a', 'node-2.crt'),
      key: join(dir, 'a', 'node-2.key'),
      ca: join(dir, 'a', 'ca.crt'),
    });
  assert.match(
    await impostor(),
    /403.*the peer calling itself node-3 presented a certificate that is not node-3's: it names paxos:\/\/tls-lab\/node\/2/s,
  );
  // The replica logs refusals at most once a second (a flood cannot fill its log): the impostor tries again until its line is in.
  const impostorLine =
    /refused a connection from 127\.0\.0\.1: the peer calling itself node-3 presented a certificate that is not node-3's/;
  await waitFor('node-1 logging the impostor', 25, async () => {
    if (impostorLine.test(log(1))) return true;
    await impostor();
    return false;
  });
}

/** A node started with another node's files stops at once; one with another CA's is refused by its peers, and refuses them. */
async function refusesAnotherCa(lab: Lab): Promise<void> {
  const { dir, members, cluster, procs, start, log } = lab;
  // Node-3 started with node-2's files stops at once, saying so.
  const p3 = procs.get(3);
  p3?.kill('SIGTERM');
  await waitFor('node-3 to stop', 50, () => p3?.exitCode !== null || p3.signalCode !== null);
  const misfiled = await paxos(
    dir,
    'replica',
    '--id',
    '3',
    '--listen',
    members[2].address,
    '--cluster-file',
    cluster,
    '--data',
    join(dir, 'd3'),
    '--initial-state',
    'existing',
    '--cert-file',
    join(dir, 'a', 'node-2.crt'),
    '--key-file',
    join(dir, 'a', 'node-2.key'),
  );
  assert.notEqual(misfiled.exitCode, 0);
  assert.match(misfiled.stderr, /is not node-3's certificate in cluster tls-lab: it names paxos:\/\/tls-lab\/node\/2/);

  // Node-3 with certificates of another CA: its peers refuse it, it refuses them, each in one sentence; the majority still decides.
  start(
    3,
    '--initial-state',
    'existing',
    '--cert-file',
    join(dir, 'b', 'node-3.crt'),
    '--key-file',
    join(dir, 'b', 'node-3.key'),
    '--trusted-ca-file',
    join(dir, 'b', 'ca.crt'),
  );
  await waitFor(
    'the majority deciding without node-3',
    50,
    async () => (await paxos(dir, 'propose', 'y=1', '--cluster', cluster, '--via', '1')).exitCode === 0,
  );
  // Whichever of node-1 and node-2 leads sends to node-3 (a follower may have nothing for it), so one of them says it.
  const notSigned = /cannot reach node-3 at 127\.0\.0\.1:\d+: its certificate is not signed by this cluster's CA/;
  await waitFor("the leader's sentence about node-3's certificate", 50, () => notSigned.test(log(1) + log(2)));
  await waitFor("node-3's sentence about its peers' certificates", 50, () =>
    /cannot reach node-[12] at 127\.0\.0\.1:\d+: its certificate is not signed by this cluster's CA/.test(log(3)),
  );
}

/** Dials /peer as a replica would, with the given certificate; resolves with the refusal's status and body, or 'open'. */
function dialPeer(address: string, o: { as: number; cert: string; key: string; ca: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://${address}/peer`, {
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'x-paxos-node': String(o.as),
        'x-paxos-cluster': CLUSTER,
        'x-paxos-incarnation': '1',
      },
      cert: readFileSync(o.cert),
      key: readFileSync(o.key),
      ca: readFileSync(o.ca),
      // This test is the impostor: it does not care which node answers.
      checkServerIdentity: (() => undefined) as unknown as () => boolean,
      handshakeTimeout: 5000,
    });
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    ws.on('error', reject);
  });
}
