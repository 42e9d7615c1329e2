/**
 * The load generator of `paxos bench`: keeps `concurrency` proposals in
 * flight against a cluster of real replicas, over a few persistent
 * connections, and records each one's latency. Durability stays on: a reply
 * means the value is fsynced on a majority.
 */
import { monotonicUs } from '../node/latency-sampler.js';
import type { ControlClient } from '../transport/ws-transport.js';
import type { ClientNote } from './breakdown.js';

export interface LoadOptions {
  /** Connections per target replica; a few spread the JSON work of a busy run. */
  readonly connections: readonly ControlClient[];
  readonly ops: number;
  readonly concurrency: number;
  readonly key: (i: number) => string;
  readonly value: string;
  readonly timeoutMs: number;
  readonly onProgress?: (done: number) => void;
  /** Notes the send and receive times of replies chosen in 1 slot of this many, for the latency breakdown. */
  readonly sampleEvery?: number;
}

export interface LoadResult {
  readonly ops: number;
  readonly failed: number;
  readonly seconds: number;
  /** Milliseconds, sorted ascending. */
  readonly latenciesMs: Float64Array;
  /** With `sampleEvery`: the sampled replies, on the monotonic clock the replicas share. */
  readonly samples: ClientNote[];
}

export async function drive(o: LoadOptions): Promise<LoadResult> {
  const latencies = new Float64Array(o.ops);
  let next = 0;
  let done = 0;
  let failed = 0;
  const samples: ClientNote[] = [];
  const every = o.sampleEvery ?? 0;
  const started = performance.now();
  const worker = async (w: number): Promise<void> => {
    const conn = o.connections[w % o.connections.length];
    while (next < o.ops) {
      const i = next++;
      const t0 = performance.now();
      // The clock the replicas note their times on, read only while sampling.
      const sentUs = every > 0 ? monotonicUs() : 0;
      const reply = (await conn
        .request({ op: 'propose', key: o.key(i), value: o.value }, o.timeoutMs)
        .catch(() => ({ ok: false }))) as { ok: boolean; slot?: number };
      const t1 = performance.now();
      if (reply.ok) latencies[done++] = t1 - t0;
      else failed++;
      if (reply.ok && every > 0 && reply.slot !== undefined && reply.slot % every === 0)
        samples.push({ slot: reply.slot, sentUs, receivedUs: monotonicUs() });
      if ((done + failed) % 500 === 0) o.onProgress?.(done + failed);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  return { ops: done, failed, seconds, latenciesMs: latencies.subarray(0, done).sort(), samples };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
