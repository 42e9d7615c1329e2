/**
 * The load generator of `paxos bench`: keeps `concurrency` proposals in
 * flight against a cluster of real replicas, over a few persistent
 * connections, and records each one's latency. Durability stays on: a reply
 * means the value is fsynced on a majority.
 */
import type { ControlClient } from '../transport/ws-transport.js';

export interface LoadOptions {
  /** Connections per target replica; a few spread the JSON work of a busy run. */
  readonly connections: readonly ControlClient[];
  readonly ops: number;
  readonly concurrency: number;
  readonly key: (i: number) => string;
  readonly value: string;
  readonly timeoutMs: number;
  readonly onProgress?: (done: number) => void;
}

export interface LoadResult {
  readonly ops: number;
  readonly failed: number;
  readonly seconds: number;
  /** Milliseconds, sorted ascending. */
  readonly latenciesMs: Float64Array;
}

export async function drive(o: LoadOptions): Promise<LoadResult> {
  const latencies = new Float64Array(o.ops);
  let next = 0;
  let done = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (w: number): Promise<void> => {
    const conn = o.connections[w % o.connections.length];
    while (next < o.ops) {
      const i = next++;
      const t0 = performance.now();
      const reply = (await conn
        .request({ op: 'propose', key: o.key(i), value: o.value }, o.timeoutMs)
        .catch(() => ({ ok: false }))) as { ok: boolean };
      if (reply.ok) latencies[done++] = performance.now() - t0;
      else failed++;
      if ((done + failed) % 500 === 0) o.onProgress?.(done + failed);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  return { ops: done, failed, seconds, latenciesMs: latencies.subarray(0, done).sort() };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
