/**
 * `paxos bench`: starts its own cluster of real replica processes per
 * configuration (or uses the running one with --attach), drives proposals,
 * and reports throughput, latency percentiles, messages and fsyncs per chosen
 * value (from the replicas' own counters) and the replicas' peak memory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../cluster/client.js';
import { Orchestrator } from '../../cluster/orchestrator.js';
import type { Protocol } from '../../core/types.js';
import { drive, percentile } from '../../bench/load.js';
import { OperatingError } from '../../errors.js';
import type { ReplicaStatus } from '../../node/events.js';
import { connectControl, type ControlClient } from '../../transport/ws-transport.js';

export interface BenchOptions {
  readonly protocols: readonly Protocol[];
  readonly nodes: readonly number[];
  readonly ops: number;
  readonly concurrency: readonly number[];
  readonly valueSizes: readonly number[];
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
  readonly maxMs: number;
  readonly messagesPerValue: number;
  readonly fsyncsPerValue: number;
  readonly peakRssMb: number;
}

/** Where the load goes: the replicas to send to, and how to read their counters. */
interface Target {
  readonly protocol: Protocol;
  readonly nodes: number;
  readonly replicas: Map<number, ControlClient>;
  readonly ports: Map<number, number>;
  readonly secret: string;
  readonly close: () => Promise<void>;
}

const CONNECTIONS_PER_TARGET = 4;
const WARMUP_OPS = 300;

async function connectAll(ports: Map<number, number>, secret: string): Promise<Map<number, ControlClient>> {
  const out = new Map<number, ControlClient>();
  for (const [id, port] of ports) out.set(id, await connectControl({ host: '127.0.0.1', port, secret, timeoutMs: 5000 }));
  return out;
}

async function ownCluster(protocol: Protocol, nodes: number): Promise<Target> {
  const home = mkdtempSync(join(tmpdir(), 'paxos-bench-'));
  const orchestrator = await Orchestrator.start({ home, clusterSize: nodes, protocol });
  const record = orchestrator.record();
  const ports = new Map(record.replicas.map((r) => [r.id, r.port]));
  const replicas = await connectAll(ports, record.secret);
  return {
    protocol, nodes, replicas, ports, secret: record.secret,
    close: async () => {
      for (const c of replicas.values()) c.close();
      await orchestrator.down();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

async function attached(): Promise<Target> {
  const cluster = await ClusterClient.connect();
  const record = cluster.record;
  cluster.close();
  const ports = new Map(record.replicas.map((r) => [r.id, r.port]));
  const replicas = await connectAll(ports, record.secret);
  return {
    protocol: record.protocol, nodes: record.clusterSize, replicas, ports, secret: record.secret,
    close: async () => { for (const c of replicas.values()) c.close(); },
  };
}

async function statuses(t: Target): Promise<ReplicaStatus[]> {
  const all = await Promise.all([...t.replicas.values()].map((c) => c.request({ op: 'status' }, 5000).catch(() => null)));
  return all.filter((s): s is { status: ReplicaStatus } => s !== null).map((s) => s.status);
}

/** Multi-Paxos: everything goes to the leader, as a client library would. Basic: every replica proposes. */
async function entryReplicas(t: Target): Promise<number[]> {
  if (t.protocol === 'basic') return [...t.replicas.keys()];
  for (let attempt = 0; attempt < 100; attempt++) {
    const leader = (await statuses(t)).find((s) => s.view.role === 'leader');
    if (leader) return [leader.node];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new OperatingError('no leader was elected; cannot benchmark Multi-Paxos');
}

/** Fresh sockets for the load, a few per entry replica, so one socket's JSON work is not the bottleneck. */
async function connectionsTo(t: Target, ids: number[]): Promise<ControlClient[]> {
  const perReplica = Math.max(1, Math.ceil(CONNECTIONS_PER_TARGET / ids.length));
  const ports = ids.flatMap((id) => Array.from({ length: perReplica }, () => t.ports.get(id)!));
  return Promise.all(ports.map((port) => connectControl({ host: '127.0.0.1', port, secret: t.secret, timeoutMs: 5000 })));
}

async function measure(t: Target, o: { concurrency: number; ops: number; valueSize: number; runId: string; progress?: (text: string) => void }): Promise<BenchRow> {
  const conns = await connectionsTo(t, await entryReplicas(t));
  const value = 'x'.repeat(o.valueSize);
  const key = t.protocol === 'basic' ? (i: number) => `${o.runId}-${i}` : (i: number) => `k${i % 1000}`;
  await drive({ connections: conns, ops: WARMUP_OPS, concurrency: o.concurrency, key: (i) => `warm-${o.runId}-${i}`, value, timeoutMs: 10_000 });
  const before = await statuses(t);
  let peakRss = Math.max(...before.map((s) => s.rssBytes));
  const poll = setInterval(() => void statuses(t).then((ss) => { for (const s of ss) peakRss = Math.max(peakRss, s.rssBytes); }), 250);
  const label = `${t.protocol} n=${t.nodes} ${o.valueSize}B c=${o.concurrency}`;
  const result = await drive({
    connections: conns, ops: o.ops, concurrency: o.concurrency, key, value, timeoutMs: 10_000,
    onProgress: (done) => o.progress?.(`${label}: ${done}/${o.ops}`),
  }).finally(() => {
    clearInterval(poll);
    for (const c of conns) c.close();
  });
  const after = await statuses(t);
  const sum = (ss: ReplicaStatus[], f: (s: ReplicaStatus) => number) => ss.reduce((n, s) => n + f(s), 0);
  const per = (x: number) => (result.ops === 0 ? NaN : round2(x / result.ops));
  return {
    protocol: t.protocol, nodes: t.nodes, valueSize: o.valueSize, concurrency: o.concurrency, ops: result.ops, failed: result.failed,
    opsPerSec: Math.round(result.ops / result.seconds),
    p50Ms: round2(percentile(result.latenciesMs, 0.5)), p95Ms: round2(percentile(result.latenciesMs, 0.95)),
    p99Ms: round2(percentile(result.latenciesMs, 0.99)), maxMs: round2(percentile(result.latenciesMs, 1)),
    messagesPerValue: per(sum(after, (s) => s.messagesOut) - sum(before, (s) => s.messagesOut)),
    fsyncsPerValue: per(sum(after, (s) => s.fsyncs) - sum(before, (s) => s.fsyncs)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function runBench(o: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const configs = o.attach ? [{ protocol: null, nodes: 0 }] : o.protocols.flatMap((protocol) => o.nodes.map((nodes) => ({ protocol, nodes })));
  let run = 0;
  for (const cfg of configs) {
    const target = cfg.protocol === null ? await attached() : await ownCluster(cfg.protocol, cfg.nodes);
    try {
      for (const valueSize of o.valueSizes) {
        for (const concurrency of o.concurrency) {
          const row = await measure(target, { concurrency, ops: o.ops, valueSize, runId: `r${run++}-${Date.now()}`, ...(o.progress ? { progress: o.progress } : {}) });
          rows.push(row);
          if (!o.json) o.print(formatRow(row, rows.length === 1));
        }
      }
    } finally {
      await target.close();
    }
  }
  if (o.json) o.print(JSON.stringify(rows));
  if (o.out) writeFileSync(o.out, `${JSON.stringify({ machine: machine(), rows }, null, 2)}\n`);
  return rows;
}

const COLUMNS = ['protocol', 'nodes', 'value', 'conc', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'msgs/value', 'fsyncs/value', 'peak RSS'];

function formatRow(r: BenchRow, header: boolean): string {
  const cells = [
    r.protocol, String(r.nodes), `${r.valueSize}B`, String(r.concurrency), String(r.opsPerSec), r.p50Ms.toFixed(2), r.p95Ms.toFixed(2),
    r.p99Ms.toFixed(2), r.maxMs.toFixed(1), r.messagesPerValue.toFixed(2), r.fsyncsPerValue.toFixed(2), `${r.peakRssMb} MB`,
  ];
  const widths = [8, 5, 7, 5, 7, 7, 7, 7, 7, 10, 12, 8];
  const line = (xs: string[]) => xs.map((x, i) => x.padStart(widths[i]!)).join(' ');
  return header ? `${line(COLUMNS)}\n${line(cells)}` : line(cells);
}

function machine(): Record<string, unknown> {
  return { node: process.version, platform: process.platform, arch: process.arch, cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null, at: new Date().toISOString() };
}
