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
 * Rules kept: every process that dials 10.200.0.x runs inside a namespace
 * (`ip netns exec`); nothing in the root namespace sends to them. Every
 * namespace, veth and /etc/netns/NAME directory is deleted by name at the end,
 * also on failure, and leftovers of the same names are deleted first. Loops
 * are bounded, and every process started is stopped by its pid.
 *
 * Runs only as root with `ip netns`; skipped, saying why, elsewhere.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { bin } from '../support/cli.js';

const BRIDGE_NS = 'pxt-br';
const BRIDGE = 'pxtbr0';
const NODES = [1, 2, 3] as const;
const nodeNs = (id: number) => `pxt-n${id}`;
const CLIENT_NS = 'pxt-c';
const nodeIp = (id: number) => `10.200.0.${10 + id}`;
const CLIENT_IP = '10.200.0.100';
/** The names a StatefulSet's headless Service gives its pods (paxos-0 is node-1), as the manifest's cluster file uses them. */
const nodeName = (id: number) => `paxos-${id - 1}.paxos`;
const PORT = 7001;
/** One veth per namespace: `pxtvNb` in the bridge namespace, `pxtvNn` in the namespace (N: 1..4 nodes, 9 the client). */
/** A fourth host, for the replica `paxos replace --cluster` votes in. */
const SPARE = 4;
const ENDPOINTS = [
  ...[...NODES, SPARE].map((id) => ({ ns: nodeNs(id), ip: nodeIp(id), n: id })),
  { ns: CLIENT_NS, ip: CLIENT_IP, n: 9 },
];
const ALL_NS = [...ENDPOINTS.map((e) => e.ns), BRIDGE_NS];
const CLIENT = join(import.meta.dirname, '..', 'support', 'netns-client.js');

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return '`ip netns` is not available';
  return false;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function quietly(...args: string[]): void {
  spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
}

/** Everything this test creates, deleted by name; safe to run when none of it exists. */
function cleanUp(): void {
  for (const e of ENDPOINTS) {
    quietly('netns', 'exec', BRIDGE_NS, 'ip', 'link', 'del', `pxtv${e.n}b`);
    // Only if a failed run left one in the root namespace; a name of ours, deleted by name.
    if (spawnSync('ip', ['link', 'show', `pxtv${e.n}b`]).status === 0) quietly('link', 'del', `pxtv${e.n}b`);
    if (spawnSync('ip', ['link', 'show', `pxtv${e.n}n`]).status === 0) quietly('link', 'del', `pxtv${e.n}n`);
  }
  for (const ns of ALL_NS) {
    killPidsIn(ns);
    quietly('netns', 'del', ns);
    rmSync(join('/etc/netns', ns), { recursive: true, force: true });
  }
}

/** Processes still inside one of our namespaces are ones this test started; each is killed by its pid. */
function killPidsIn(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (r.status !== 0) return;
  for (const pid of r.stdout
    .split('\n')
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isInteger(x) && x > 1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

function buildNetwork(): void {
  for (const ns of ALL_NS) ip('netns', 'add', ns);
  ip('netns', 'exec', BRIDGE_NS, 'ip', 'link', 'add', BRIDGE, 'type', 'bridge');
  ip('netns', 'exec', BRIDGE_NS, 'ip', 'link', 'set', BRIDGE, 'up');
  const hosts = [
    '127.0.0.1 localhost',
    ...[...NODES, SPARE].map((id) => `${nodeIp(id)} ${nodeName(id)}`),
    `${CLIENT_IP} pxt-client`,
    '',
  ].join('\n');
  for (const e of ENDPOINTS) {
    // Created inside the bridge namespace with its other end straight in the endpoint's: no interface ever sits in the root namespace.
    ip(
      'netns',
      'exec',
      BRIDGE_NS,
      'ip',
      'link',
      'add',
      `pxtv${e.n}b`,
      'type',
      'veth',
      'peer',
      'name',
      `pxtv${e.n}n`,
      'netns',
      e.ns,
    );
    ip('netns', 'exec', BRIDGE_NS, 'ip', 'link', 'set', `pxtv${e.n}b`, 'master', BRIDGE, 'up');
    ip('netns', 'exec', e.ns, 'ip', 'addr', 'add', `${e.ip}/24`, 'dev', `pxtv${e.n}n`);
    ip('netns', 'exec', e.ns, 'ip', 'link', 'set', `pxtv${e.n}n`, 'up');
    ip('netns', 'exec', e.ns, 'ip', 'link', 'set', 'lo', 'up');
    mkdirSync(join('/etc/netns', e.ns), { recursive: true });
    writeFileSync(join('/etc/netns', e.ns, 'hosts'), hosts);
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** `pid1`: the replica runs as pid 1 of a pid namespace of its own, as in a container; SIGKILLing its parent kills it too. */
function startIn(
  ns: string,
  args: readonly string[],
  logFile: string,
  pid1 = false,
  env: readonly string[] = [],
): Started {
  const fd = openSync(logFile, 'a');
  const prefix = [
    ...(pid1 ? ['unshare', '--pid', '--fork', '--kill-child=SIGKILL'] : []),
    ...(env.length > 0 ? ['env', ...env] : []),
  ];
  const child = spawn('ip', ['netns', 'exec', ns, ...prefix, process.execPath, bin, ...args], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  started.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  return { child, logFile, exited };
}

async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5000);
  await s.exited;
  clearTimeout(timer);
}

interface Reply {
  readonly ok?: boolean;
  readonly value?: string;
  readonly unreachable?: string;
  readonly status?: { readonly view?: { readonly leader?: number | null; readonly role?: string } };
  readonly [k: string]: unknown;
}

/** A control request from the client namespace. */
function fromClient(host: string, tokenFile: string, op: string, ...rest: string[]): Reply {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', CLIENT_NS, process.execPath, CLIENT, host, String(PORT), tokenFile, op, ...rest],
    { encoding: 'utf8', timeout: 15_000 },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Reply;
  } catch {
    return { unreachable: `no answer (${r.stderr.trim().slice(0, 200)})` };
  }
}

/** Retries until `ok` holds, at most `limitMs`; returns the elapsed milliseconds, or fails with the last reply. */
async function until(what: string, limitMs: number, attempt: () => Reply, ok: (r: Reply) => boolean): Promise<number> {
  const start = Date.now();
  let last: Reply = {};
  while (Date.now() - start < limitMs) {
    last = attempt();
    if (ok(last)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what} did not happen within ${limitMs} ms; last reply ${JSON.stringify(last).slice(0, 400)}`);
}

/** A replica's command line: members from --peers, or from a cluster file when `clusterFile` is given. */
function replicaArgs(
  id: number,
  o: {
    readonly cluster: string;
    readonly dir: string;
    readonly data: string;
    readonly byName: boolean;
    readonly initial?: string;
    readonly clusterFile?: string;
  },
): string[] {
  const address = (n: number) => `${o.byName ? nodeName(n) : nodeIp(n)}:${PORT}`;
  return [
    'replica',
    '--id',
    String(id),
    '--listen',
    o.byName ? `0.0.0.0:${PORT}` : `${nodeIp(id)}:${PORT}`,
    ...(o.byName ? ['--advertise', address(id)] : []),
    ...(o.clusterFile !== undefined
      ? ['--cluster-file', o.clusterFile]
      : [
          '--peers',
          NODES.map((n) => `${n}=${address(n)}`).join(','),
          '--cluster-id',
          o.cluster,
          '--token-file',
          join(o.dir, 'token'),
        ]),
    '--data',
    o.data,
    '--initial-state',
    o.initial ?? 'new',
  ];
}

/** The replica's command line in the StatefulSet of templates/deploy/kubernetes.yaml (its `args:` line, a JSON list). */
function manifestArgs(): string[] {
  const text = readFileSync(join(dirname(bin), '..', 'templates', 'deploy', 'kubernetes.yaml'), 'utf8');
  const line = /^\s*args:\s*(\[.*\])\s*$/m.exec(text);
  assert.ok(line !== null, 'the StatefulSet has an args: [...] line');
  return JSON.parse(line[1]) as string[];
}

/** The HTTP status of a plain GET, from the client namespace. */
function httpStatusFromClient(url: string): string {
  const script = `fetch(${JSON.stringify(url)}).then((r) => process.stdout.write(String(r.status)), (e) => process.stdout.write('error ' + e.message))`;
  return spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 15_000,
  }).stdout.trim();
}

/** `paxos ARGS` run in the client namespace; its exit code and stdout. */
function paxosFromClient(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const reason = skipReason();

test('replicas in separate network namespaces form a cluster from flags alone, by IP and by name, and refuse strangers', {
  skip: reason,
  timeout: 240_000,
}, async () => {
  cleanUp();
  const dir = mkdtempSync(join(tmpdir(), 'pxt-hosts-'));
  writeFileSync(join(dir, 'token'), 'pxt-netns-secret\n', { mode: 0o600 });
  const token = join(dir, 'token');
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
    const clusterFile = join(dir, 'cluster.json');
    writeFileSync(
      clusterFile,
      JSON.stringify({
        clusterId: 'pxt-dns',
        tokenFile: 'token',
        members: NODES.map((id) => ({ id, address: `${nodeName(id)}:${PORT}` })),
      }),
    );
    // The StatefulSet's exact command line, its paths pointed at this test's files; the pod name comes in HOSTNAME, as in a pod.
    const fromManifest = manifestArgs();
    assert.ok(fromManifest.includes('--id-from-ordinal') && fromManifest.includes('0.0.0.0:7001'));
    const args = (id: number) =>
      fromManifest.map((a) => (a === '/etc/paxos/cluster.json' ? clusterFile : a === '/data' ? data(id) : a));
    const podEnv = (id: number, initial = 'new') => [`HOSTNAME=paxos-${id - 1}`, `PAXOS_INITIAL_STATE=${initial}`];
    const startPod = (id: number, logFile: string, o: { initial?: string; pid1?: boolean; data?: string } = {}) =>
      startIn(
        nodeNs(id),
        args(id).map((a) => (a === data(id) && o.data !== undefined ? o.data : a)),
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
    for (const child of started) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    cleanUp();
    if (process.env.PXT_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }
});

/** A command run without blocking this process's event loop; its exit code and output. */
function runAsync(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      started.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * A replica under a supervisor, as a StatefulSet or systemd keeps one: when
 * it exits on its own (the admin API's crash), it is started again from the
 * same command line, with `existing` data, a bounded number of times.
 */
class Supervised {
  private current: Started;
  private stopping = false;
  restarts = 0;

  constructor(private readonly start: (initial: string) => Started) {
    this.current = this.watch(start('new'));
  }

  private watch(s: Started): Started {
    void s.exited.then(() => {
      if (this.stopping || this.restarts >= 20) return;
      this.restarts++;
      setTimeout(() => {
        if (!this.stopping) this.current = this.watch(this.start('existing'));
      }, 200);
    });
    return s;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await stop(this.current);
  }
}

test('across namespaces, the admin API partitions and heals by its TTL, a client token cannot, paxos check --cluster passes with crash, freeze and partition, and replace --cluster votes in a fourth host', {
  skip: reason,
  timeout: 300_000,
}, async () => {
  cleanUp();
  const dir = mkdtempSync(join(tmpdir(), 'pxt-admin-'));
  const tokens = { peer: join(dir, 'peer'), admin: join(dir, 'admin'), client: join(dir, 'client') };
  for (const [name, file] of Object.entries(tokens)) writeFileSync(file, `pxt-${name}-secret\n`, { mode: 0o600 });
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(
    clusterFile,
    JSON.stringify({
      clusterId: 'pxt-admin',
      tokens: { peer: 'peer', admin: 'admin', client: 'client' },
      members: NODES.map((id) => ({ id, address: `${nodeName(id)}:${PORT}` })),
    }),
  );
  const figures: Record<string, unknown> = {};
  const replicas: Supervised[] = [];
  try {
    buildNetwork();
    // The StatefulSet's command line again, under a supervisor that restarts a crashed replica.
    const fromManifest = manifestArgs();
    const data = (id: number) => join(dir, `data-${id}`);
    const args = (id: number) =>
      fromManifest.map((a) => (a === '/etc/paxos/cluster.json' ? clusterFile : a === '/data' ? data(id) : a));
    const formStart = Date.now();
    for (const id of NODES)
      replicas.push(
        new Supervised((initial) =>
          startIn(nodeNs(id), args(id), join(dir, `node-${id}.log`), false, [
            `HOSTNAME=paxos-${id - 1}`,
            `PAXOS_INITIAL_STATE=${initial}`,
          ]),
        ),
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
    const check = await runAsync(
      [
        'netns',
        'exec',
        CLIENT_NS,
        process.execPath,
        bin,
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
    );
    const results = JSON.parse(check.stdout.trim().split('\n').pop() ?? '{}') as {
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
    assert.equal(check.status, 0, `paxos check --cluster: ${check.stderr.slice(-2000)}`);
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
    const spareArgs = fromManifest.map((a) =>
      a === '/etc/paxos/cluster.json' ? grown : a === '/data' ? data(SPARE) : a,
    );
    replicas.push(
      new Supervised((initial) =>
        startIn(nodeNs(SPARE), spareArgs, join(dir, `node-${SPARE}.log`), false, [
          `HOSTNAME=paxos-${SPARE - 1}`,
          `PAXOS_INITIAL_STATE=${initial}`,
        ]),
      ),
    );
    await until(
      'node-4 answering as a learner',
      30_000,
      () => fromClient(nodeName(SPARE), tokens.client, 'status'),
      (r) => r.status !== undefined,
    );
    const replaceAt = Date.now();
    const replaced = await runAsync(
      [
        'netns',
        'exec',
        CLIENT_NS,
        process.execPath,
        bin,
        'replace',
        'node-1',
        '--cluster',
        grown,
        '--existing',
        'node-4',
        '--json',
      ],
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
    for (const r of replicas) await r.stop().catch(() => undefined);
    for (const child of started) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    cleanUp();
    if (process.env.PXT_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }
});

test('paxos check --cluster fails on replicas across namespaces that run a planted bug (stale local reads)', {
  skip: reason,
  timeout: 240_000,
}, async () => {
  cleanUp();
  const dir = mkdtempSync(join(tmpdir(), 'pxt-plant-'));
  writeFileSync(join(dir, 'token'), 'pxt-plant-secret\n', { mode: 0o600 });
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(
    clusterFile,
    JSON.stringify({
      clusterId: 'pxt-plant',
      tokenFile: 'token',
      members: NODES.map((id) => ({ id, address: `${nodeName(id)}:${PORT}` })),
    }),
  );
  const replicas: Supervised[] = [];
  try {
    buildNetwork();
    const fromManifest = manifestArgs();
    const args = (id: number) =>
      fromManifest.map((a) =>
        a === '/etc/paxos/cluster.json' ? clusterFile : a === '/data' ? join(dir, `data-${id}`) : a,
      );
    // The bug is the replicas' (PAXOS_PLANT, as `paxos check --plant` sets it in lab mode); the check only drives them.
    for (const id of NODES)
      replicas.push(
        new Supervised((initial) =>
          startIn(nodeNs(id), args(id), join(dir, `node-${id}.log`), false, [
            `HOSTNAME=paxos-${id - 1}`,
            `PAXOS_INITIAL_STATE=${initial}`,
            'PAXOS_PLANT=stale-reads',
          ]),
        ),
      );
    await until(
      'a value chosen by the planted cluster',
      30_000,
      () => fromClient(nodeName(1), join(dir, 'token'), 'propose', 'a', '1'),
      (r) => r.ok === true,
    );
    // The lab-mode plant test's settings (check-plant.test.ts), against replicas this check neither started nor stops.
    const check = await runAsync(
      [
        'netns',
        'exec',
        CLIENT_NS,
        process.execPath,
        bin,
        'check',
        '--cluster',
        clusterFile,
        '--time',
        '15s',
        '--clients',
        '6',
        '--keys',
        '2',
        '--nemesis',
        'partition,leader',
        '--seed',
        '5',
        '--out',
        join(dir, 'check'),
        '--json',
      ],
      180_000,
    );
    const results = JSON.parse(check.stdout.trim().split('\n').pop() ?? '{}') as {
      verdict?: string;
      checks?: { linearizable?: { ok?: unknown; violatingKeys?: string[] } };
    };
    assert.equal(results.verdict, 'fail', check.stderr.slice(-2000));
    assert.equal(check.status, 1);
    assert.equal(results.checks?.linearizable?.ok, false);
    process.stdout.write(
      `# figures: ${JSON.stringify({ plantedVerdict: results.verdict, violatingKeys: results.checks?.linearizable?.violatingKeys })}\n`,
    );
  } finally {
    for (const r of replicas) await r.stop().catch(() => undefined);
    for (const child of started) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    cleanUp();
    if (process.env.PXT_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }
});
