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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertStaleReadsCaught, checkRunOf, STALE_READS_RUN } from '../support/check-runs.js';
import {
  buildNetwork,
  freshFolder,
  fromClient,
  httpStatusFromClient,
  ip,
  manifestArgs,
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
  type Supervised,
  skipReason,
  startIn,
  stop,
  supervisedPod,
  tearDown,
  until,
  writeClusterFile,
  writeToken,
} from '../support/netns.js';

const reason = skipReason();

test('replicas in separate network namespaces form a cluster from flags alone, by IP and by name, and refuse strangers', {
  skip: reason,
  timeout: 240_000,
}, async () => {
  const dir = freshFolder('pxt-hosts-');
  const token = writeToken(dir, 'token', 'pxt-netns-secret');
  const figures: Record<string, number> = {};
  try {
    buildNetwork();

    // By IP: each replica bound to its own address, peers named by address.
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
    // A supervisor's probes: plain GET, no secret.
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

    // A partition by blackhole routes inside the node namespaces cuts the leader off: the other two elect a leader and decide; healed, the old leader learns.
    const leader = (fromClient(nodeName(1), token, 'status').status?.view?.leader ?? 1) as number;
    const others = NODES.filter((id) => id !== leader);
    const cut = (verb: 'add' | 'del') => {
      for (const id of others)
        ip('netns', 'exec', nodeNs(id), 'ip', 'route', verb, 'blackhole', `${nodeIp(leader)}/32`);
      for (const id of others)
        ip('netns', 'exec', nodeNs(leader), 'ip', 'route', verb, 'blackhole', `${nodeIp(id)}/32`);
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

    // A SIGKILLed replica comes back from the same command line: nothing is pushed to it.
    const victim = 2;
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

    // A replica of another cluster (same secret, same id, its own data) is refused by every member.
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

    // --initial-state existing refuses an empty directory; node-2 wiped and started as new (incarnation 1) is refused by peers that saw incarnation 2.
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

    // A replica that is pid 1 (a container) and is SIGKILLed leaves a lock naming pid 1: its next start, pid 1 again, takes it over.
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

    for (const s of replicas.values()) await stop(s);
    process.stdout.write(`# figures: ${JSON.stringify(figures)}\n`);
  } finally {
    await tearDown(dir);
  }
});

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
  const clusterFile = writeClusterFile(dir, {
    clusterId: 'pxt-admin',
    tokens: { peer: 'peer', admin: 'admin', client: 'client' },
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
      () => fromClient(nodeName(1), tokens.client, 'propose', 'a', '1'),
      (r) => r.ok === true,
    );
    figures.formFromStartMs = Date.now() - formStart;

    // Token classes: a client may propose but not partition or crash; a peer token opens no control connection.
    const rules = (version: number, partition: number[][], ttlMs: number) =>
      JSON.stringify({ op: 'set-rules', version, ttlMs, rules: { partition } });
    const byClient = fromClient(nodeName(1), tokens.client, rules(1, [[1], [2, 3]], 60_000));
    assert.match(String(byClient.unreachable), /needs the admin token/, 'a client token cannot partition');
    assert.match(String(fromClient(nodeName(1), tokens.client, '{"op":"crash"}').unreachable), /needs the admin token/);
    assert.match(String(fromClient(nodeName(1), tokens.peer, 'status').unreachable), /not a peer token/);
    assert.equal((fromClient(nodeName(1), tokens.admin, 'admin-state') as { version?: number }).version, 0);

    // A partition by the admin API cuts the leader off for 4 s: the majority decides; nobody heals it, its TTL does.
    const leader = (fromClient(nodeName(1), tokens.client, 'status').status?.view?.leader ?? 1) as number;
    const others = NODES.filter((id) => id !== leader);
    const ttlMs = 4000;
    const cutAt = Date.now();
    for (const id of NODES) {
      const r = fromClient(nodeName(id), tokens.admin, rules(2, [[leader], others], ttlMs));
      assert.equal(r.ok, true, `node-${id} took the rule set: ${JSON.stringify(r)}`);
    }
    figures.adminFailoverMs = await until(
      `the majority deciding with node-${leader} cut off by the admin API`,
      ttlMs,
      () => fromClient(nodeName(others[0]), tokens.client, 'propose', 'q', 'majority'),
      (r) => r.ok === true,
    );
    const during = fromClient(nodeName(leader), tokens.admin, 'admin-state') as { rules?: { partition?: unknown } };
    const stillCut = Date.now() - cutAt < ttlMs;
    if (stillCut) assert.deepEqual(during.rules?.partition, [[leader], others], 'the cut is in force until its TTL');
    await until(
      `node-${leader} learning the value once the rules expired by themselves`,
      30_000,
      () => fromClient(nodeName(leader), tokens.client, 'get', 'q'),
      (r) => r.value === 'majority',
    );
    figures.healedByTtlAfterMs = Date.now() - cutAt;
    const after = fromClient(nodeName(leader), tokens.admin, 'admin-state') as {
      rulesExpireInMs?: number | null;
      version?: number;
    };
    assert.equal(after.version, 2);
    assert.equal(after.rulesExpireInMs, null, 'expired: no rule left in force');
    assert.match(readFileSync(join(dir, `node-${leader}.log`), 'utf8'), /fault rules version 2 expired/);

    // paxos check --cluster, from the client namespace: crash (the supervisor restarts), freeze, partition.
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
    assert.ok(
      replicas.some((r) => r.restarts > 0),
      'a crashed replica was restarted by its supervisor',
    );

    // paxos replace --cluster: node-4, on a fourth host and marked joined in the cluster file, takes node-1's place.
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
      () => fromClient(nodeName(SPARE), tokens.client, 'status'),
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
      () => fromClient(nodeName(SPARE), tokens.client, 'propose', 'after', 'replace'),
      (r) => r.ok === true,
    );
    assert.equal(fromClient(nodeName(2), tokens.client, 'get', 'after').value, 'replace');

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
