/**
 * `paxos bench`: starts its own cluster of real replica processes per
 * configuration (or uses the running one with --attach), drives proposals,
 * and reports throughput, latency percentiles, messages and fsyncs per chosen
 * value (from the replicas' own counters) and the replicas' peak memory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Breakdown, breakdown, describeBreakdown } from '../../bench/breakdown.js';
import { describeFloor, type Floor, measureFloor, timesFloor } from '../../bench/floor.js';
import { drive, percentile } from '../../bench/load.js';
import { ClusterClient } from '../../cluster/client.js';
import { Orchestrator } from '../../cluster/orchestrator.js';
import { must } from '../../core/must.js';
import type { Protocol } from '../../core/types.js';
import { nodeName } from '../../core/types.js';
import { OperatingError } from '../../errors.js';
import type { ReplicaStatus } from '../../node/events.js';
import type { LatencySamples } from '../../node/latency-sampler.js';
import { type ControlClient, connectControl } from '../../transport/ws-transport.js';

export interface BenchOptions {
  readonly protocols: readonly Protocol[];
  readonly nodes: readonly number[];
  readonly ops: number;
  readonly concurrency: readonly number[];
  readonly valueSizes: readonly number[];
  /** Whether to sample the latency breakdown (default true). */
  readonly breakdown?: boolean;
  readonly attach: boolean;
  readonly json: boolean;
  readonly out?: string;
  readonly print: (line: string) => void;
  readonly progress?: (text: string) => void;
}

export interface BenchRow {
  readonly protocol: Protocol;
  readonly nodes: number;
  readonly valueSize: number;
  readonly concurrency: number;
  readonly ops: number;
  readonly failed: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** p50, p99 and p99.9 as multiples of the floor measured in the same run (see bench/floor.ts). */
  readonly p50xFloor: number;
  readonly p99xFloor: number;
  readonly p999xFloor: number;
  readonly messagesPerValue: number;
  readonly fsyncsPerValue: number;
  readonly peakRssMb: number;
  /** CPU time (user + system) of all the replicas' processes per chosen value; null when a replica does not report it. */
  readonly cpuUsPerValue: number | null;
  /** The bench's own CPU time per value (the clients' side: encoding requests, parsing replies). */
  readonly clientCpuUsPerValue: number;
  /** Where a sampled value's latency goes (bench/breakdown.ts); null for Basic Paxos (no slots) or replicas that do not sample. */
  readonly breakdown: Breakdown | null;
}

/** Where the load goes: the replicas to send to, how to read their counters, and where they keep their data. */
export interface Target {
  readonly protocol: Protocol;
  readonly nodes: number;
  readonly replicas: Map<number, ControlClient>;
  readonly ports: Map<number, number>;
  readonly secret: string;
  /** The replicas' data directories, so a soak can measure what they keep on disk. */
  readonly dataDirs: readonly string[];
  readonly close: () => Promise<void>;
}

const CONNECTIONS_PER_TARGET = 4;
const WARMUP_OPS = 300;

/**
 * One control connection per replica. If one cannot be made, the ones
 * already open are closed before the error goes up: left open, they kept the
 * process alive after it had printed the error, and `bench --attach` with a
 * replica down never exited.
 */
async function connectAll(ports: Map<number, number>, secret: string): Promise<Map<number, ControlClient>> {
  const out = new Map<number, ControlClient>();
  for (const [id, port] of ports) {
    try {
      out.set(id, await connectControl({ host: '127.0.0.1', port, secret, timeoutMs: 5000 }));
    } catch (err) {
      for (const c of out.values()) c.close();
      throw new OperatingError(
        `${nodeName(id)} does not answer (${(err as Error).message}); the benchmark needs every replica up: \`paxos restart ${nodeName(id)}\``,
      );
    }
  }
  return out;
}

/**
 * Cleanups to run if the user presses Ctrl-C mid-bench. Without them the
 * process would die with its temporary PAXOS_HOME (logs, data, the cluster
 * record) left in the system's temp directory, one per interrupted run.
 */
export class Interrupt {
  private readonly stoppers = new Set<() => Promise<void>>();
  private readonly cleanups = new Set<() => Promise<void>>();
  private readonly homes = new Set<string>();
  fired = false;

  /** Registers a cleanup and the temp dir it removes; returns the function that unregisters both. */
  onInterrupt(cleanup: () => Promise<void>, home?: string): () => void {
    this.cleanups.add(cleanup);
    if (home !== undefined) this.homes.add(home);
    return () => {
      this.cleanups.delete(cleanup);
      if (home !== undefined) this.homes.delete(home);
    };
  }

  /**
   * Registers what must happen before the cleanups, while the replicas are
   * still up: a soak takes its last sample and prints its summary so far.
   * Returns the function that unregisters it.
   */
  onStop(stop: () => Promise<void>): () => void {
    this.stoppers.add(stop);
    return () => {
      this.stoppers.delete(stop);
    };
  }

  /**
   * Ctrl-C: stop the clusters and remove their dirs, bounded in time, then
   * exit 130. Later SIGINTs are ignored rather than taken as "exit at once":
   * execa's exit hook (signal-exit) re-sends SIGINT to this process right
   * after the first one, and that must not cut the cleanup short.
   */
  readonly handle = (): void => {
    if (this.fired) return;
    this.fired = true;
    process.stderr.write('\ninterrupted: stopping the bench cluster and removing its temporary directory\n');
    const bound = setTimeout(() => this.exitNow(), CLEANUP_BOUND_MS);
    void Promise.allSettled([...this.stoppers].map((s) => s()))
      .then(() => Promise.allSettled([...this.cleanups].map((c) => c())))
      .then(() => {
        clearTimeout(bound);
        process.exit(INTERRUPTED_EXIT);
      });
  };

  /** A cleanup that hangs: remove the dirs synchronously and go; execa's exit hook still sends the replicas SIGTERM. */
  private exitNow(): void {
    for (const home of this.homes) rmSync(home, { recursive: true, force: true });
    process.exit(INTERRUPTED_EXIT);
  }
}

/** The conventional exit code of a process stopped by SIGINT (128 + 2). */
const INTERRUPTED_EXIT = 130;
/** How long a Ctrl-C waits for the replicas to stop cleanly (their own grace is 3 s) before removing the dir anyway. */
const CLEANUP_BOUND_MS = 8000;

/** Runs `f` once however many times it is called (by the normal path and by Ctrl-C), sharing its promise. */
function once(f: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= f());
}

export async function ownCluster(protocol: Protocol, nodes: number, interrupt: Interrupt): Promise<Target> {
  const home = mkdtempSync(join(tmpdir(), 'paxos-bench-'));
  const starting = Orchestrator.start({ home, clusterSize: nodes, protocol });
  const replicas = new Map<number, ControlClient>();
  const close = once(async () => {
    for (const c of replicas.values()) c.close();
    // A failed start has already stopped its replicas; a pending one is awaited so no replica outlives the dir.
    const orchestrator = await starting.catch(() => null);
    await orchestrator?.down();
    rmSync(home, { recursive: true, force: true });
  });
  const unregister = interrupt.onInterrupt(close, home);
  const closeAndForget = async (): Promise<void> => {
    await close();
    unregister();
  };
  try {
    const record = (await starting).record();
    const ports = new Map(record.replicas.map((r) => [r.id, r.port]));
    for (const [id, client] of await connectAll(ports, record.secret)) replicas.set(id, client);
    return {
      protocol,
      nodes,
      replicas,
      ports,
      secret: record.secret,
      dataDirs: record.replicas.map((r) => r.dataDir),
      close: closeAndForget,
    };
  } catch (err) {
    await closeAndForget();
    throw err;
  }
}

export async function attached(): Promise<Target> {
  const cluster = await ClusterClient.connect();
  const record = cluster.record;
  cluster.close();
  const ports = new Map(record.replicas.map((r) => [r.id, r.port]));
  const replicas = await connectAll(ports, record.secret);
  return {
    protocol: record.protocol,
    nodes: record.clusterSize,
    replicas,
    ports,
    secret: record.secret,
    dataDirs: record.replicas.map((r) => r.dataDir),
    close: async () => {
      for (const c of replicas.values()) c.close();
    },
  };
}

export async function statuses(t: Target, timeoutMs = 5000): Promise<ReplicaStatus[]> {
  const all = await Promise.all(
    [...t.replicas.values()].map((c) => c.request({ op: 'status' }, timeoutMs).catch(() => null)),
  );
  return all.filter((s): s is { status: ReplicaStatus } => s !== null).map((s) => s.status);
}

/** Multi-Paxos: everything goes to the leader, as a client library would. Basic: every replica proposes. */
export async function entryReplicas(t: Target): Promise<number[]> {
  if (t.protocol === 'basic') return [...t.replicas.keys()];
  for (let attempt = 0; attempt < 100; attempt++) {
    const leader = (await statuses(t)).find((s) => s.view.role === 'leader');
    if (leader) return [leader.node];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new OperatingError('no leader was elected; cannot benchmark Multi-Paxos');
}

/** Fresh sockets for the load, a few per entry replica, so one socket's JSON work is not the bottleneck. */
export async function connectionsTo(t: Target, ids: number[]): Promise<ControlClient[]> {
  const perReplica = Math.max(1, Math.ceil(CONNECTIONS_PER_TARGET / ids.length));
  const ports = ids.flatMap((id) =>
    Array.from({ length: perReplica }, () => must(t.ports.get(id), 'an entry replica is one the cluster started')),
  );
  return Promise.all(
    ports.map((port) => connectControl({ host: '127.0.0.1', port, secret: t.secret, timeoutMs: 5000 })),
  );
}

/**
 * The load's view of a connection: once Ctrl-C has fired, its requests never
 * settle. Stopping the replicas makes every request fail at once, and the
 * load generator would then spin through its remaining proposals without
 * ever yielding, starving the cleanup (and the reaping of the replicas).
 */
export function parkedOnInterrupt(c: ControlClient, interrupt: Interrupt): ControlClient {
  const never = (): Promise<never> => new Promise<never>(() => undefined);
  return {
    ...c,
    request: (body, timeoutMs) =>
      interrupt.fired
        ? never()
        : c.request(body, timeoutMs).catch((err: unknown) => (interrupt.fired ? never() : Promise.reject(err))),
  };
}

async function measure(
  t: Target,
  o: {
    concurrency: number;
    ops: number;
    valueSize: number;
    runId: string;
    interrupt: Interrupt;
    floor: Floor;
    breakdown: boolean;
    progress?: (text: string) => void;
  },
): Promise<BenchRow> {
  const entries = await entryReplicas(t);
  const conns = (await connectionsTo(t, entries)).map((c) => parkedOnInterrupt(c, o.interrupt));
  const value = 'x'.repeat(o.valueSize);
  const key = t.protocol === 'basic' ? (i: number) => `${o.runId}-${i}` : (i: number) => `k${i % 1000}`;
  await drive({
    connections: conns,
    ops: WARMUP_OPS,
    concurrency: o.concurrency,
    key: (i) => `warm-${o.runId}-${i}`,
    value,
    timeoutMs: 10_000,
  });
  const sampleEvery = Math.max(1, Math.min(SAMPLE_EVERY, Math.floor(o.ops / 100)));
  const sampling =
    o.breakdown && t.protocol === 'multi' && entries.length === 1 && (await startSampling(t, sampleEvery));
  const before = await statuses(t);
  const cpuBefore = cpuOf(before);
  const clientCpuBefore = process.cpuUsage();
  let peakRss = Math.max(...before.map((s) => s.rssBytes));
  const poll = setInterval(
    () =>
      void statuses(t).then((ss) => {
        for (const s of ss) peakRss = Math.max(peakRss, s.rssBytes);
      }),
    250,
  );
  const label = `${t.protocol} n=${t.nodes} ${o.valueSize}B c=${o.concurrency}`;
  const result = await drive({
    connections: conns,
    ops: o.ops,
    concurrency: o.concurrency,
    key,
    value,
    timeoutMs: 10_000,
    onProgress: (done) => o.progress?.(`${label}: ${done}/${o.ops}`),
    ...(sampling ? { sampleEvery } : {}),
  }).finally(() => {
    clearInterval(poll);
    for (const c of conns) c.close();
  });
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const after = await statuses(t);
  const cpuAfter = cpuOf(after);
  const notes = sampling ? await takeSamples(t) : null;
  const changed = changedDuring(before, after);
  if (changed !== null) {
    throw new OperatingError(
      `the cluster changed while the benchmark ran (${changed}), so its counts would mix two runs; no result is given for it: run the benchmark again on a cluster that stays up`,
    );
  }
  const sum = (ss: ReplicaStatus[], f: (s: ReplicaStatus) => number) => ss.reduce((n, s) => n + f(s), 0);
  const per = (x: number) => (result.ops === 0 ? NaN : round2(x / result.ops));
  const p = (q: number) => round2(percentile(result.latenciesMs, q));
  return {
    protocol: t.protocol,
    nodes: t.nodes,
    valueSize: o.valueSize,
    concurrency: o.concurrency,
    ops: result.ops,
    failed: result.failed,
    opsPerSec: Math.round(result.ops / result.seconds),
    p50Ms: p(0.5),
    p95Ms: p(0.95),
    p99Ms: p(0.99),
    p999Ms: p(0.999),
    maxMs: p(1),
    // From the unrounded percentiles, so a sub-millisecond p50 keeps its precision.
    p50xFloor: timesFloor(percentile(result.latenciesMs, 0.5), o.floor),
    p99xFloor: timesFloor(percentile(result.latenciesMs, 0.99), o.floor),
    p999xFloor: timesFloor(percentile(result.latenciesMs, 0.999), o.floor),
    messagesPerValue: per(sum(after, (s) => s.messagesOut) - sum(before, (s) => s.messagesOut)),
    fsyncsPerValue: per(sum(after, (s) => s.fsyncs) - sum(before, (s) => s.fsyncs)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    cpuUsPerValue: cpuPerValue(cpuBefore, cpuAfter, result.ops),
    clientCpuUsPerValue: per(clientCpu.user + clientCpu.system),
    breakdown: notes === null ? null : joinSamples(result.samples, notes, entries[0]),
  };
}

/** The bench's sampling: 1 value in this many, so a 20,000-value run follows about 300 through the cluster. */
const SAMPLE_EVERY = 64;

/** Asks every replica to note sampled values' times; false if one cannot (an older replica under --attach). */
async function startSampling(t: Target, every: number): Promise<boolean> {
  const answers = await Promise.all(
    [...t.replicas.values()].map((c) =>
      c.request({ op: 'latency-samples', every }, 5000).then(
        () => true,
        () => false,
      ),
    ),
  );
  return answers.every((ok) => ok);
}

async function takeSamples(t: Target): Promise<LatencySamples[] | null> {
  const all = await Promise.all(
    [...t.replicas.values()].map((c) =>
      c.request({ op: 'latency-samples', every: 0 }, 10_000).then(
        (x) => x as LatencySamples,
        () => null,
      ),
    ),
  );
  return all.some((x) => x === null) ? null : (all as LatencySamples[]);
}

function joinSamples(client: Parameters<typeof breakdown>[0], notes: LatencySamples[], leaderId: number) {
  const leader = notes.find((n) => n.node === leaderId);
  if (leader === undefined) return null;
  return breakdown(
    client,
    leader,
    notes.filter((n) => n.node !== leaderId),
  );
}

function cpuPerValue(before: readonly CpuSample[], after: readonly CpuSample[], ops: number): number | null {
  let us = 0;
  for (const a of after) {
    const b = before.find((s) => s.node === a.node);
    if (a.cpuMicros === null || b === undefined || b.cpuMicros === null) return null;
    us += a.cpuMicros - b.cpuMicros;
  }
  return ops === 0 ? null : Math.round(us / ops);
}

interface CpuSample {
  readonly node: number;
  readonly cpuMicros: number | null;
}

/**
 * Each replica's CPU time: what it reports, or else (a replica of an older
 * build, under --attach, as an A/B comparison runs it) what Linux's
 * /proc/PID/stat says of its process, at the kernel's tick resolution.
 */
function cpuOf(statuses: readonly ReplicaStatus[]): CpuSample[] {
  return statuses.map((s) => ({ node: s.node, cpuMicros: s.cpuMicros ?? procCpuMicros(s.pid) }));
}

/** Ticks of the kernel's clock per second in /proc/PID/stat (USER_HZ): 100 on every Linux Node runs on. */
const USER_HZ = 100;

function procCpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
  } catch {
    return null;
  }
}

/**
 * How the replicas changed between the samples before and after a run, or
 * null if they did not: one that stopped answering, or whose counters started
 * over (it restarted). Either makes "after minus before" meaningless: a
 * cluster that died mid-run gave negative messages per value.
 */
export function changedDuring(before: readonly ReplicaStatus[], after: readonly ReplicaStatus[]): string | null {
  const changes: string[] = [];
  for (const b of before) {
    const a = after.find((s) => s.node === b.node);
    if (a === undefined) changes.push(`${nodeName(b.node)} stopped answering`);
    else if (a.pid !== b.pid || a.uptimeMs < b.uptimeMs || a.messagesOut < b.messagesOut || a.fsyncs < b.fsyncs)
      changes.push(`${nodeName(b.node)} restarted`);
  }
  return changes.length === 0 ? null : changes.join(', ');
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function runBench(o: BenchOptions): Promise<BenchRow[]> {
  return withInterrupt((interrupt) => runConfigs(o, interrupt));
}

/** Runs `f` with Ctrl-C handled: its cleanups (and stoppers) run, then the process exits 130. */
export async function withInterrupt<T>(f: (interrupt: Interrupt) => Promise<T>): Promise<T> {
  const interrupt = new Interrupt();
  process.on('SIGINT', interrupt.handle);
  try {
    return await f(interrupt);
  } catch (err) {
    // Once Ctrl-C is stopping the replicas, the load fails under it: that is not an error to report, and the handler exits 130.
    if (interrupt.fired) return new Promise<never>(() => undefined);
    throw err;
  } finally {
    if (!interrupt.fired) process.off('SIGINT', interrupt.handle);
  }
}

async function runConfigs(o: BenchOptions, interrupt: Interrupt): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const configs = o.attach
    ? [{ protocol: null, nodes: 0 }]
    : o.protocols.flatMap((protocol) => o.nodes.map((nodes) => ({ protocol, nodes })));
  let run = 0;
  let floor: Floor | null = null;
  for (const cfg of configs) {
    const target = cfg.protocol === null ? await attached() : await ownCluster(cfg.protocol, cfg.nodes, interrupt);
    try {
      if (floor === null) {
        // Once per run, on the first cluster while it is idle: the disk its replicas write to, the loopback they talk over.
        o.progress?.("measuring the floor: fsyncs beside the replicas' data, WebSocket round trips on loopback");
        floor = await measureFloor({ near: dirname(target.dataDirs[0]) });
        if (!o.json) o.print(describeFloor(floor));
      }
      for (const valueSize of o.valueSizes) {
        for (const concurrency of o.concurrency) {
          const row = await measure(target, {
            concurrency,
            ops: o.ops,
            valueSize,
            runId: `r${run++}-${Date.now()}`,
            interrupt,
            floor,
            breakdown: o.breakdown !== false,
            ...(o.progress ? { progress: o.progress } : {}),
          });
          if (interrupt.fired) return new Promise<never>(() => undefined);
          rows.push(row);
          if (!o.json) {
            o.print(formatRow(row, rows.length === 1));
            if (row.breakdown !== null) o.print(describeBreakdown(row.breakdown));
          }
        }
      }
    } finally {
      if (!interrupt.fired) await target.close();
    }
  }
  if (o.json) o.print(JSON.stringify({ floor, rows }));
  if (o.out) writeFileSync(o.out, `${JSON.stringify({ machine: machine(), floor, rows }, null, 2)}\n`);
  return rows;
}

const COLUMNS = [
  'protocol',
  'nodes',
  'value',
  'conc',
  'ops/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'p99.9 ms',
  'max ms',
  'p50/floor',
  'p99/floor',
  'p99.9/floor',
  'msgs/value',
  'fsyncs/value',
  'peak RSS',
  'CPU µs/value',
];

export function formatRow(r: BenchRow, header: boolean): string {
  const cells = [
    r.protocol,
    String(r.nodes),
    `${r.valueSize}B`,
    String(r.concurrency),
    String(r.opsPerSec),
    r.p50Ms.toFixed(2),
    r.p95Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.p999Ms.toFixed(2),
    r.maxMs.toFixed(1),
    `${r.p50xFloor.toFixed(1)}×`,
    `${r.p99xFloor.toFixed(1)}×`,
    `${r.p999xFloor.toFixed(1)}×`,
    r.messagesPerValue.toFixed(2),
    r.fsyncsPerValue.toFixed(2),
    `${r.peakRssMb} MB`,
    r.cpuUsPerValue === null ? '-' : String(r.cpuUsPerValue),
  ];
  const widths = [8, 5, 7, 5, 7, 7, 7, 7, 8, 7, 9, 9, 11, 10, 12, 8, 12];
  const line = (xs: string[]) => xs.map((x, i) => x.padStart(widths[i])).join(' ');
  return header ? `${line(COLUMNS)}\n${line(cells)}` : line(cells);
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null,
    at: new Date().toISOString(),
  };
}
