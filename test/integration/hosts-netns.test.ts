/**
 * Replicas on separate hosts, as far as one machine can show it: three node
 * namespaces and a client namespace on a bridge (in a namespace of its own),
 * with addresses in 10.200.0.0/24 and names in /etc/netns/NAME/hosts. Each
 * replica is `paxos replica` started inside its namespace with flags alone
 * (no orchestrator, nothing pushed to it); in the by-name part with the exact
 * command line of the StatefulSet in templates/deploy/kubernetes.yaml and its
 * pod names (paxos-0.paxos is node-1). The test checks that the cluster
 * forms by IP (bound to its IP) and by DNS name (bound to 0.0.0.0), that a
 * client in the client namespace proposes and reads, that a SIGKILLed
 * replica restarts from the same command line, and that a replica of another
 * cluster, and one that comes back with its data wiped, are refused.
 * The second test gives the replicas separate peer, admin and client tokens
 * and a supervisor that restarts them: a client token cannot partition or
 * crash, a partition by the admin API heals by its TTL alone, `paxos check
 * --cluster` passes with crash, freeze and partition faults, and `paxos
 * replace --cluster` votes in a replica on a fourth host. The third runs
 * the replicas with a planted bug (stale local reads) and `paxos check
 * --cluster` must fail.
 *
 * The namespaces, the replicas' start and the clean-up are in
 * test/support/netns.ts, which keeps the rules: nothing in the root namespace
 * dials 10.200.0.x, everything is deleted by name (also on failure), loops are
 * bounded and every process is stopped by its pid.
 *
 * Runs only as root with `ip netns`; skipped, saying why, elsewhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertStaleReadsCaught, checkRunOf, STALE_READS_RUN } from '../support/check-runs.js';
import { bin } from '../support/cli.js';
import {
  buildNetwork,
  freshFolder,
  fromClient,
  httpStatusFromClient,
  ip,
  manifestArgs,
  manifestTls,
  NODES,
  nodeIp,
  nodeName,
  nodeNs,
  PORT,
  paxosFromClient,
  paxosFromClientAsync,
  podArgs,
  podEnv,
  replicaArgs,
  SPARE,
  type Started,
  type Supervised,
  skipReason,
  startIn,
  stop,
  supervisedPod,
  tearDown,
  tlsClient,
  until,
  writeClusterFile,
  writeToken,
} from '../support/netns.js';

const reason = skipReason();

/** `paxos certs` for this test's nodes (the spare included), named and addressed as in the namespaces; returns the folder. */
function makeCerts(dir: string, name: string, clusterId: string): string {
  const out = join(dir, name);
  const hosts = [...NODES, SPARE].flatMap((id) => [nodeName(id), nodeIp(id)]).join(',');
  const r = spawnSync(
    process.execPath,
    [bin, 'certs', '--out', out, '--cluster-id', clusterId, '--nodes', String(SPARE), '--hosts', hosts],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, `paxos certs: ${r.stderr}`);
  return out;
}

/** What the by-name part of the first test shares: its folder, secret, cluster file, running pods and figures. */
interface ByName {
  readonly dir: string;
  readonly token: string;
  readonly clusterFile: string;
  readonly figures: Record<string, number>;
  readonly replicas: Map<number, Started>;
  readonly data: (id: number) => string;
  readonly startPod: (id: number, logFile: string, o?: { initial?: string; pid1?: boolean; data?: string }) => Started;
}

/** By IP: each replica bound to its own address, peers named by address. */
async function formByIp(dir: string, token: string, figures: Record<string, number>): Promise<void> {
  const byIp = NODES.map((id) =>
    startIn(
      nodeNs(id),
      replicaArgs(id, { cluster: 'pxt-ip', dir, data: join(dir, `ip-${id}`), byName: false }),
      join(dir, `ip-${id}.log`),
    ),
  );
  figures.formByIpMs = await until(
    'a value chosen by the cluster bound to IPs',
    30_000,
    () => fromClient(nodeIp(1), token, 'propose', 'ip', '1'),
    (r) => r.ok === true,
  );
  assert.equal(fromClient(nodeIp(3), token, 'get', 'ip').value, '1');
  await Promise.all(byIp.map((s) => stop(s)));
}

/** A supervisor's probes: plain GET, no secret. */
function probesAndCli(clusterFile: string): void {
  for (const id of NODES) {
    assert.equal(httpStatusFromClient(`http://${nodeName(id)}:${PORT}/readyz`), '200', `node-${id} is ready`);
    assert.equal(httpStatusFromClient(`http://${nodeName(id)}:${PORT}/livez`), '200', `node-${id} is live`);
  }
  // The CLI against the cluster file from the client namespace: no orchestrator anywhere.
  const proposed = paxosFromClient('propose', 'z=9', '--cluster', clusterFile, '--json');
  assert.equal(proposed.code, 0, proposed.stderr);
  assert.equal((JSON.parse(proposed.stdout) as { ok: boolean }).ok, true);
  const read = paxosFromClient('get', 'z', '--cluster', clusterFile, '--via', 'node-3', '--json');
  assert.equal(read.code, 0, read.stderr);
  assert.equal((JSON.parse(read.stdout) as { value: string }).value, '9');
  const status = paxosFromClient('status', '--cluster', clusterFile, '--json');
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(
    (JSON.parse(status.stdout) as { replicas: { up: boolean }[] }).replicas.map((r) => r.up),
    [true, true, true],
  );
}

/** A partition by blackhole routes inside the node namespaces cuts the leader off: the other two elect a leader and decide; healed, the old leader learns. */
async function partitionByBlackhole(p: ByName): Promise<void> {
  const { token, figures } = p;
  const leader = (fromClient(nodeName(1), token, 'status').status?.view?.leader ?? 1) as number;
  const others = NODES.filter((id) => id !== leader);
  const cut = (verb: 'add' | 'del') => {
    for (const id of others) ip('netns', 'exec', nodeNs(id), 'ip', 'route', verb, 'blackhole', `${nodeIp(leader)}/32`);
    for (const id of others) ip('netns', 'exec', nodeNs(leader), 'ip', 'route', verb, 'blackhole', `${nodeIp(id)}/32`);
  };
  cut('add');
  try {
    figures.failoverMs = await until(
      `the majority deciding with node-${leader} cut off`,
      30_000,
      () => fromClient(nodeName(others[0]), token, 'propose', 'p', 'majority'),
      (r) => r.ok === true,
    );
  } finally {
    cut('del');
  }
  await until(
    `node-${leader} learning the value after the heal`,
    30_000,
    () => fromClient(nodeName(leader), token, 'get', 'p'),
    (r) => r.value === 'majority',
  );
}

/** A SIGKILLed replica comes back from the same command line: nothing is pushed to it. */
async function restartAfterKill(p: ByName, victim: number): Promise<void> {
  const { dir, token, clusterFile, figures, replicas, startPod } = p;
  await stop(replicas.get(victim)!, 'SIGKILL');
  const duringDown = paxosFromClient('propose', 'y=8', '--cluster', clusterFile, '--json');
  assert.equal(duringDown.code, 0, `the majority decides while node-2 is down: ${duringDown.stderr}`);
  const restartAt = Date.now();
  replicas.set(victim, startPod(victim, join(dir, `dns-${victim}.log`), { initial: 'existing' }));
  await until(
    'node-2 answering a read after its restart',
    30_000,
    () => fromClient(nodeName(victim), token, 'get', 'y'),
    (r) => r.value === '8',
  );
  figures.restartMs = Date.now() - restartAt;
  assert.match(readFileSync(join(dir, `dns-${victim}.log`), 'utf8'), /incarnation 2/);
}

/** A replica of another cluster (same secret, same id, its own data) is refused by every member. */
async function strangerRefused(p: ByName): Promise<void> {
  const { dir, replicas } = p;
  await stop(replicas.get(3)!);
  const stranger = startIn(
    nodeNs(3),
    replicaArgs(3, { cluster: 'pxt-other', dir, data: join(dir, 'other-3'), byName: true }),
    join(dir, 'other-3.log'),
  );
  await until(
    'node-1 refusing the replica of another cluster',
    15_000,
    () => ({
      ok: /node-3 belongs to another cluster \(pxt-other, not pxt-dns\)/.test(
        readFileSync(join(dir, 'dns-1.log'), 'utf8'),
      ),
    }),
    (r) => r.ok === true,
  );
  await stop(stranger);
}

/** --initial-state existing refuses an empty directory; node-2 wiped and started as new (incarnation 1) is refused by peers that saw incarnation 2. */
async function wipedRefused(p: ByName, victim: number): Promise<void> {
  const { dir, replicas, startPod } = p;
  await stop(replicas.get(victim)!);
  const wipedData = join(dir, `wiped-${victim}`);
  const refused = startPod(victim, join(dir, `wiped-${victim}-existing.log`), {
    initial: 'existing',
    data: wipedData,
  });
  assert.equal(await refused.exited, 5, '--initial-state existing refuses an empty directory');
  const wiped = startPod(victim, join(dir, `wiped-${victim}.log`), { data: wipedData });
  await until(
    'node-1 refusing node-2 back at a lower incarnation',
    15_000,
    () => ({
      ok: /node-2 came back at incarnation 1 after 2 was seen/.test(readFileSync(join(dir, 'dns-1.log'), 'utf8')),
    }),
    (r) => r.ok === true,
  );
  await stop(wiped);
}

/** A replica that is pid 1 (a container) and is SIGKILLed leaves a lock naming pid 1: its next start, pid 1 again, takes it over. */
async function pid1TakesOver(p: ByName): Promise<void> {
  const { dir, token, figures, data, startPod } = p;
  const pid1Log = join(dir, 'pid1-3.log');
  const first = startPod(3, pid1Log, { initial: 'existing', pid1: true });
  await until(
    'node-3 running as pid 1',
    30_000,
    () => fromClient(nodeName(3), token, 'get', 'z'),
    (r) => r.value === '9',
  );
  assert.equal(JSON.parse(readFileSync(join(data(3), 'LOCK'), 'utf8')).pid, 1, 'the lock names pid 1');
  await stop(first, 'SIGKILL');
  assert.equal(JSON.parse(readFileSync(join(data(3), 'LOCK'), 'utf8')).pid, 1, 'a SIGKILL leaves the lock behind');
  const pid1RestartAt = Date.now();
  const second = startPod(3, pid1Log, { initial: 'existing', pid1: true });
  await until(
    'node-3 back as pid 1 after a SIGKILL',
    30_000,
    () => fromClient(nodeName(3), token, 'get', 'z'),
    (r) => r.value === '9',
  );
  figures.pid1RestartMs = Date.now() - pid1RestartAt;
  assert.doesNotMatch(readFileSync(pid1Log, 'utf8'), /in use by process 1/);
  await stop(second, 'SIGKILL');
}

test('replicas in separate network namespaces form a cluster from flags alone, by IP and by name, and refuse strangers', {
  skip: reason,
  timeout: 240_000,
}, async () => {
  const dir = freshFolder('pxt-hosts-');
  const token = writeToken(dir, 'token', 'pxt-netns-secret');
  const figures: Record<string, number> = {};
  try {
    buildNetwork();

    await formByIp(dir, token, figures);

    // By name: bound to 0.0.0.0, advertised and dialled by the names in /etc/netns/NAME/hosts.
    const data = (id: number) => join(dir, `dns-${id}`);
    const clusterFile = writeClusterFile(dir, { clusterId: 'pxt-dns', tokenFile: 'token' });
    // The StatefulSet's exact command line, its paths pointed at this test's files; the pod name comes in HOSTNAME, as in a pod.
    const fromManifest = manifestArgs();
    assert.ok(fromManifest.includes('--id-from-ordinal') && fromManifest.includes('0.0.0.0:7001'));
    const startPod = (id: number, logFile: string, o: { initial?: string; pid1?: boolean; data?: string } = {}) =>
      startIn(
        nodeNs(id),
        podArgs({ clusterFile, data: o.data ?? data(id) }),
        logFile,
        o.pid1 === true,
        podEnv(id, o.initial),
      );
    const replicas = new Map(NODES.map((id) => [id, startPod(id, join(dir, `dns-${id}.log`))]));
    figures.formByNameMs = await until(
      'a value chosen by the cluster dialled by name',
      30_000,
      () => fromClient(nodeName(1), token, 'propose', 'x', '7'),
      (r) => r.ok === true,
    );
    // A client may dial a 0.0.0.0-bound replica by its IP too.
    assert.equal(fromClient(nodeIp(2), token, 'get', 'x').value, '7');
    assert.equal(fromClient(nodeName(3), token, 'get', 'x').value, '7');
    probesAndCli(clusterFile);
    const p: ByName = { dir, token, clusterFile, figures, replicas, data, startPod };
    const victim = 2;
    await partitionByBlackhole(p);
    await restartAfterKill(p, victim);
    await strangerRefused(p);
    await wipedRefused(p, victim);
    await pid1TakesOver(p);

    for (const s of replicas.values()) await stop(s);
    process.stdout.write(`# figures: ${JSON.stringify(figures)}\n`);
  } finally {
    await tearDown(dir);
  }
});

/** What the second test's parts share: its folder, tokens, cluster file, client, supervised replicas and figures. */
interface AdminRun {
  readonly dir: string;
  readonly tokens: { readonly peer: string; readonly admin: string; readonly client: string };
  readonly clusterFile: string;
  readonly otherCaDir: string;
  readonly ask: ReturnType<typeof tlsClient>;
  readonly figures: Record<string, unknown>;
  readonly replicas: Supervised[];
  readonly data: (id: number) => string;
}

/** The admin API's set-rules request. */
function rules(version: number, partition: number[][], ttlMs: number): string {
  return JSON.stringify({ op: 'set-rules', version, ttlMs, rules: { partition } });
}

/** A wrong certificate: a replica on the fourth host that trusts this cluster's CA but presents one of another CA is refused, in one sentence. */
async function impostorRefused(p: AdminRun): Promise<void> {
  const { dir, clusterFile, otherCaDir } = p;
  const impostor = startIn(
    nodeNs(SPARE),
    [
      ...replicaArgs(SPARE, { cluster: 'pxt-admin', dir, data: join(dir, 'impostor'), byName: true, clusterFile }),
      '--cert-file',
      join(otherCaDir, `node-${SPARE}.crt`),
      '--key-file',
      join(otherCaDir, `node-${SPARE}.key`),
    ],
    join(dir, 'impostor.log'),
  );
  await until(
    "a member refusing the impostor's certificate",
    15_000,
    () => ({
      ok: NODES.some((id) =>
        /refused a connection from 10\.200\.0\.14: the peer calling itself node-4 presented a certificate not signed by this cluster's CA/.test(
          readFileSync(join(dir, `node-${id}.log`), 'utf8'),
        ),
      ),
    }),
    (r) => r.ok === true,
  );
  await stop(impostor);
}

/** Token classes: a client may propose but not partition or crash; a peer token opens no control connection. */
function tokenClasses(p: AdminRun): void {
  const { tokens, ask } = p;
  const byClient = ask(nodeName(1), tokens.client, rules(1, [[1], [2, 3]], 60_000));
  assert.match(String(byClient.unreachable), /needs the admin token/, 'a client token cannot partition');
  assert.match(String(ask(nodeName(1), tokens.client, '{"op":"crash"}').unreachable), /needs the admin token/);
  assert.match(String(ask(nodeName(1), tokens.peer, 'status').unreachable), /not a peer token/);
  assert.equal((ask(nodeName(1), tokens.admin, 'admin-state') as { version?: number }).version, 0);
}

/** A partition by the admin API cuts the leader off for 4 s: the majority decides; nobody heals it, its TTL does. */
async function partitionHealsByTtl(p: AdminRun): Promise<void> {
  const { dir, tokens, ask, figures } = p;
  const leader = (ask(nodeName(1), tokens.client, 'status').status?.view?.leader ?? 1) as number;
  const others = NODES.filter((id) => id !== leader);
  const ttlMs = 4000;
  const cutAt = Date.now();
  for (const id of NODES) {
    const r = ask(nodeName(id), tokens.admin, rules(2, [[leader], others], ttlMs));
    assert.equal(r.ok, true, `node-${id} took the rule set: ${JSON.stringify(r)}`);
  }
  figures.adminFailoverMs = await until(
    `the majority deciding with node-${leader} cut off by the admin API`,
    ttlMs,
    () => ask(nodeName(others[0]), tokens.client, 'propose', 'q', 'majority'),
    (r) => r.ok === true,
  );
  const during = ask(nodeName(leader), tokens.admin, 'admin-state') as { rules?: { partition?: unknown } };
  const stillCut = Date.now() - cutAt < ttlMs;
  if (stillCut) assert.deepEqual(during.rules?.partition, [[leader], others], 'the cut is in force until its TTL');
  await until(
    `node-${leader} learning the value once the rules expired by themselves`,
    30_000,
    () => ask(nodeName(leader), tokens.client, 'get', 'q'),
    (r) => r.value === 'majority',
  );
  figures.healedByTtlAfterMs = Date.now() - cutAt;
  const after = ask(nodeName(leader), tokens.admin, 'admin-state') as {
    rulesExpireInMs?: number | null;
    version?: number;
  };
  assert.equal(after.version, 2);
  assert.equal(after.rulesExpireInMs, null, 'expired: no rule left in force');
  assert.match(readFileSync(join(dir, `node-${leader}.log`), 'utf8'), /fault rules version 2 expired/);
}

/** paxos check --cluster, from the client namespace: crash (the supervisor restarts), freeze, partition. */
async function checkWithFaults(p: AdminRun): Promise<void> {
  const { dir, clusterFile, figures, replicas } = p;
  const out = join(dir, 'check');
  // Not spawnSync: the supervisors live in this process and must restart what the check crashes meanwhile.
  const check = checkRunOf(
    await paxosFromClientAsync(
      [
        'check',
        '--cluster',
        clusterFile,
        '--time',
        '25s',
        '--nemesis',
        'kill,pause,partition',
        '--seed',
        '13',
        '--out',
        out,
        '--json',
      ],
      180_000,
    ),
  );
  const results = check.results as {
    verdict?: string;
    operations?: unknown;
    availability?: { overall?: number; byFault?: unknown };
    schedule?: { description: string }[];
  };
  figures.check = {
    verdict: results.verdict,
    operations: results.operations,
    availability: results.availability?.overall,
    byFault: results.availability?.byFault,
    faults: results.schedule?.map((f) => f.description),
    restarts: replicas.map((r) => r.restarts),
  };
  assert.equal(check.code, 0, `paxos check --cluster: ${check.stderr.slice(-2000)}`);
  assert.equal(results.verdict, 'pass');
  // Seed 13's schedule (pure data) kills the leader and node-2, partitions node-3 and pauses the leader.
  for (const kind of ['kill', 'pause', 'partition'])
    assert.ok(
      results.schedule?.some((f) => f.description.startsWith(kind)),
      `the schedule has a ${kind}`,
    );
  // Driven through the admin API, nothing is signalled, and the schedule says so.
  const words = (results.schedule ?? []).map((f) => f.description).join('; ');
  assert.match(words, /crash through its admin API/);
  assert.doesNotMatch(words, /SIGKILL|SIGSTOP/);
  assert.ok(
    replicas.some((r) => r.restarts > 0),
    'a crashed replica was restarted by its supervisor',
  );
}

/** paxos replace --cluster: node-4, on a fourth host and marked joined in the cluster file, takes node-1's place. */
async function replaceWithFourthHost(p: AdminRun): Promise<void> {
  const { dir, tokens, clusterFile, ask, figures, replicas, data } = p;
  // The running replicas read the file before node-4 was in it: they learn its address from its handshake.
  const grown = join(dir, 'cluster-grown.json');
  const file = JSON.parse(readFileSync(clusterFile, 'utf8')) as { members: object[] };
  file.members.push({ id: SPARE, address: `${nodeName(SPARE)}:${PORT}`, joined: true });
  writeFileSync(grown, JSON.stringify(file));
  replicas.push(
    supervisedPod(SPARE, {
      args: podArgs({ clusterFile: grown, data: data(SPARE) }),
      logFile: join(dir, `node-${SPARE}.log`),
    }),
  );
  await until(
    'node-4 answering as a learner',
    30_000,
    () => ask(nodeName(SPARE), tokens.client, 'status'),
    (r) => r.status !== undefined,
  );
  const replaceAt = Date.now();
  const replaced = await paxosFromClientAsync(
    ['replace', 'node-1', '--cluster', grown, '--existing', 'node-4', '--json'],
    120_000,
  );
  assert.equal(replaced.status, 0, `paxos replace --cluster: ${replaced.stdout} ${replaced.stderr}`);
  figures.replaceMs = Date.now() - replaceAt;
  const change = JSON.parse(replaced.stdout.trim().split('\n').pop() ?? '{}') as { added?: { voters?: number[] } };
  assert.deepEqual(change.added?.voters, [2, 3, 4]);
  assert.match(readFileSync(join(dir, 'node-2.log'), 'utf8'), /learned node-4's address/);
  await until(
    'a value chosen through node-4, a voter now',
    30_000,
    () => ask(nodeName(SPARE), tokens.client, 'propose', 'after', 'replace'),
    (r) => r.ok === true,
  );
  assert.equal(ask(nodeName(2), tokens.client, 'get', 'after').value, 'replace');
}

test('across namespaces, the admin API partitions and heals by its TTL, a client token cannot, paxos check --cluster passes with crash, freeze and partition, and replace --cluster votes in a fourth host', {
  skip: reason,
  timeout: 300_000,
}, async () => {
  const dir = freshFolder('pxt-admin-');
  const tokens = {
    peer: writeToken(dir, 'peer', 'pxt-peer-secret'),
    admin: writeToken(dir, 'admin', 'pxt-admin-secret'),
    client: writeToken(dir, 'client', 'pxt-client-secret'),
  };
  // Mutual TLS as the manifest's ConfigMap sets it up, with certificates from `paxos certs`; the tokens stay (defence in depth).
  const certDir = makeCerts(dir, 'certs', 'pxt-admin');
  const otherCaDir = makeCerts(dir, 'other-ca', 'pxt-admin');
  const clientTls = { clientCertFile: join(certDir, 'client.crt'), clientKeyFile: join(certDir, 'client.key') };
  const clusterFile = writeClusterFile(dir, {
    clusterId: 'pxt-admin',
    tokens: { peer: 'peer', admin: 'admin', client: 'client' },
    tls: { ...manifestTls(certDir), ...clientTls },
  });
  const ask = tlsClient({
    ca: join(certDir, 'ca.crt'),
    cert: clientTls.clientCertFile,
    key: clientTls.clientKeyFile,
    clusterId: 'pxt-admin',
  });
  const figures: Record<string, unknown> = {};
  const replicas: Supervised[] = [];
  try {
    buildNetwork();
    // The StatefulSet's command line again, under a supervisor that restarts a crashed replica.
    const data = (id: number) => join(dir, `data-${id}`);
    const formStart = Date.now();
    for (const id of NODES)
      replicas.push(
        supervisedPod(id, { args: podArgs({ clusterFile, data: data(id) }), logFile: join(dir, `node-${id}.log`) }),
      );
    figures.formMs = await until(
      'a value chosen with the client token',
      30_000,
      () => ask(nodeName(1), tokens.client, 'propose', 'a', '1'),
      (r) => r.ok === true,
    );
    figures.formFromStartMs = Date.now() - formStart;
    assert.match(
      readFileSync(join(dir, 'node-1.log'), 'utf8'),
      /wss:\/\/ with mutual TLS as paxos:\/\/pxt-admin\/node\/1, client certificates required/,
    );

    const p: AdminRun = { dir, tokens, clusterFile, otherCaDir, ask, figures, replicas, data };
    await impostorRefused(p);
    tokenClasses(p);
    await partitionHealsByTtl(p);
    await checkWithFaults(p);
    await replaceWithFourthHost(p);

    for (const r of replicas) await r.stop();
    process.stdout.write(`# figures: ${JSON.stringify(figures)}\n`);
  } finally {
    await tearDown(dir, replicas);
  }
});

test('paxos check --cluster fails on replicas across namespaces that run a planted bug (stale local reads)', {
  skip: reason,
  timeout: 240_000,
}, async () => {
  const dir = freshFolder('pxt-plant-');
  const token = writeToken(dir, 'token', 'pxt-plant-secret');
  const clusterFile = writeClusterFile(dir, { clusterId: 'pxt-plant', tokenFile: 'token' });
  const replicas: Supervised[] = [];
  try {
    buildNetwork();
    // The bug is the replicas' (PAXOS_PLANT, as `paxos check --plant` sets it in lab mode); the check only drives them.
    for (const id of NODES)
      replicas.push(
        supervisedPod(id, {
          args: podArgs({ clusterFile, data: join(dir, `data-${id}`) }),
          logFile: join(dir, `node-${id}.log`),
          env: ['PAXOS_PLANT=stale-reads'],
        }),
      );
    await until(
      'a value chosen by the planted cluster',
      30_000,
      () => fromClient(nodeName(1), token, 'propose', 'a', '1'),
      (r) => r.ok === true,
    );
    // The lab-mode plant run (check-plant.test.ts), against replicas this check neither started nor stops.
    const check = checkRunOf(
      await paxosFromClientAsync(
        ['check', '--cluster', clusterFile, ...STALE_READS_RUN, '--out', join(dir, 'check'), '--json'],
        180_000,
      ),
    );
    const violatingKeys = assertStaleReadsCaught(check);
    process.stdout.write(`# figures: ${JSON.stringify({ plantedVerdict: check.results.verdict, violatingKeys })}\n`);
  } finally {
    await tearDown(dir, replicas);
  }
});
