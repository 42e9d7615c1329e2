/**
 * Replicas on separate hosts, as far as one machine can show it, for
 * test/integration/hosts-netns.test.ts: three node namespaces, a spare and a
 * client namespace on a bridge (in a namespace of its own), addresses in
 * 10.200.0.0/24 and names in /etc/netns/NAME/hosts; replicas started inside
 * their namespaces (alone, as pid 1, or under a supervisor), requests and
 * `paxos` commands run from the client namespace, and the clean-up of all of
 * it by name.
 *
 * Every process that dials 10.200.0.x runs inside a namespace (`ip netns
 * exec`); nothing in the root namespace sends to them. Every namespace, veth
 * and /etc/netns/NAME directory is deleted by name, also on failure, and
 * leftovers of the same names are deleted first. Loops are bounded, and every
 * process started is stopped by its pid.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bin } from './cli.js';

const BRIDGE_NS = 'pxt-br';
const BRIDGE = 'pxtbr0';
export const NODES = [1, 2, 3] as const;
export const nodeNs = (id: number) => `pxt-n${id}`;
export const CLIENT_NS = 'pxt-c';
export const nodeIp = (id: number) => `10.200.0.${10 + id}`;
export const CLIENT_IP = '10.200.0.100';
/** The names a StatefulSet's headless Service gives its pods (paxos-0 is node-1), as the manifest's cluster file uses them. */
export const nodeName = (id: number) => `paxos-${id - 1}.paxos`;
export const PORT = 7001;
/** One veth per namespace: `pxtvNb` in the bridge namespace, `pxtvNn` in the namespace (N: 1..4 nodes, 9 the client). */
/** A fourth host, for the replica `paxos replace --cluster` votes in. */
export const SPARE = 4;
const ENDPOINTS = [
  ...[...NODES, SPARE].map((id) => ({ ns: nodeNs(id), ip: nodeIp(id), n: id })),
  { ns: CLIENT_NS, ip: CLIENT_IP, n: 9 },
];
const ALL_NS = [...ENDPOINTS.map((e) => e.ns), BRIDGE_NS];
const CLIENT = join(import.meta.dirname, 'netns-client.js');

export function skipReason(): string | false {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return '`ip netns` is not available';
  return false;
}

export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function quietly(...args: string[]): void {
  spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
}

/** Everything this test creates, deleted by name; safe to run when none of it exists. */
export function cleanUp(): void {
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

export function buildNetwork(): void {
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

export interface Started {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** `pid1`: the replica runs as pid 1 of a pid namespace of its own, as in a container; SIGKILLing its parent kills it too. */
export function startIn(
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

export async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5000);
  await s.exited;
  clearTimeout(timer);
}

export interface Reply {
  readonly ok?: boolean;
  readonly value?: string;
  readonly unreachable?: string;
  readonly status?: { readonly view?: { readonly leader?: number | null; readonly role?: string } };
  readonly [k: string]: unknown;
}

/** A control request from the client namespace. */
export function fromClient(host: string, tokenFile: string, op: string, ...rest: string[]): Reply {
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
export async function until(
  what: string,
  limitMs: number,
  attempt: () => Reply,
  ok: (r: Reply) => boolean,
): Promise<number> {
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
export function replicaArgs(
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
export function manifestArgs(): string[] {
  const text = readFileSync(join(dirname(bin), '..', 'templates', 'deploy', 'kubernetes.yaml'), 'utf8');
  const line = /^\s*args:\s*(\[.*\])\s*$/m.exec(text);
  assert.ok(line !== null, 'the StatefulSet has an args: [...] line');
  return JSON.parse(line[1]) as string[];
}

/** The HTTP status of a plain GET, from the client namespace. */
export function httpStatusFromClient(url: string): string {
  const script = `fetch(${JSON.stringify(url)}).then((r) => process.stdout.write(String(r.status)), (e) => process.stdout.write('error ' + e.message))`;
  return spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 15_000,
  }).stdout.trim();
}

/** `paxos ARGS` run in the client namespace; its exit code and stdout. */
export function paxosFromClient(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command run without blocking this process's event loop; its exit code and output. */
export function runAsync(
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
export class Supervised {
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

/** A test's start: leftovers of an earlier run deleted by name, and a fresh folder for its files. */
export function freshFolder(prefix: string): string {
  cleanUp();
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A test's end, also on failure: its replicas and every process it started stopped, the network deleted, its folder too (unless PXT_KEEP). */
export async function tearDown(dir: string, replicas: readonly Supervised[] = []): Promise<void> {
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

/** A secret in a file only its owner reads, as a token file must be; returns its path. */
export function writeToken(dir: string, name: string, secret: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

/** A cluster file in `dir` naming the three nodes by their pod names, with one token file or one per class; returns its path. */
export function writeClusterFile(
  dir: string,
  o: {
    readonly clusterId: string;
    readonly tokenFile?: string;
    readonly tokens?: { readonly peer: string; readonly admin: string; readonly client: string };
  },
): string {
  const file = join(dir, 'cluster.json');
  writeFileSync(
    file,
    JSON.stringify({
      clusterId: o.clusterId,
      ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}),
      ...(o.tokens !== undefined ? { tokens: o.tokens } : {}),
      members: NODES.map((id) => ({ id, address: `${nodeName(id)}:${PORT}` })),
    }),
  );
  return file;
}

/** The StatefulSet's command line (templates/deploy/kubernetes.yaml), its paths pointed at this test's cluster file and data directory. */
export function podArgs(o: { readonly clusterFile: string; readonly data: string }): string[] {
  return manifestArgs().map((a) => (a === '/etc/paxos/cluster.json' ? o.clusterFile : a === '/data' ? o.data : a));
}

/** What a pod's environment tells the replica: its name (so its id) in HOSTNAME, and whether its data is new. */
export function podEnv(id: number, initial = 'new', extra: readonly string[] = []): string[] {
  return [`HOSTNAME=paxos-${id - 1}`, `PAXOS_INITIAL_STATE=${initial}`, ...extra];
}

/** Node `id` as a pod of the StatefulSet in its namespace, under a supervisor that restarts it when it exits. */
export function supervisedPod(
  id: number,
  o: { readonly args: readonly string[]; readonly logFile: string; readonly env?: readonly string[] },
): Supervised {
  return new Supervised((initial) => startIn(nodeNs(id), o.args, o.logFile, false, podEnv(id, initial, o.env)));
}

/** `paxos ARGS` run in the client namespace without blocking this process (its supervisors must go on restarting). */
export function paxosFromClientAsync(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runAsync(['netns', 'exec', CLIENT_NS, process.execPath, bin, ...args], timeoutMs);
}
