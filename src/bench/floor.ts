/**
 * The physical floor of `paxos bench`, measured in the same run as the
 * cluster: what the disk and the loopback network cost at the least, so a
 * latency reads as "2.1× the floor" and not only as milliseconds that mean
 * something else on every machine.
 *
 * - a 4 KiB write + fdatasync appended to a growing file (what a log that
 *   grows its file pays: the size changes, so the file system journals too);
 * - the same into a file written in full and synced beforehand (a
 *   preallocated segment: only the data block goes to the disk);
 * - a WebSocket round trip on 127.0.0.1 between two threads (a small text
 *   frame there and back; no JSON, no authentication, no replica).
 *
 * One value at concurrency 1 cannot take less than the client's round trip
 * to the leader, the leader's round trip to a follower, and the follower's
 * fsync before it answers (the leader's own fsync can overlap its accepts).
 * That sum, with the preallocated fsync, is the floor the rows are divided
 * by; the sum with the appending fsync is reported beside it.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The floor's measurements, each a median in microseconds, and what follows from them. */
export interface Floor {
  /** Where the fsyncs were measured (a scratch folder beside the replicas' data, removed afterwards). */
  readonly dir: string;
  /** 4 KiB write + fdatasync, appended to a growing file. */
  readonly fsyncAppendUs: number;
  /** 4 KiB write + fdatasync, into a preallocated (written and synced) file. */
  readonly fsyncPreallocatedUs: number;
  /** One WebSocket round trip on loopback. */
  readonly wsRoundTripUs: number;
  /** Client round trip + leader→follower round trip + the follower's appending fsync. */
  readonly valueAppendUs: number;
  /** The same with the preallocated fsync: the floor every latency is divided by. */
  readonly valueUs: number;
  /** Samples behind the medians: fsyncs of each kind (in `rounds` rounds) and round trips. */
  readonly samples: { readonly fsync: number; readonly rounds: number; readonly roundTrips: number };
}

export interface FloorMeasurements {
  readonly dir: string;
  readonly fsyncAppendUs: number;
  readonly fsyncPreallocatedUs: number;
  readonly wsRoundTripUs: number;
  readonly samples: { readonly fsync: number; readonly rounds: number; readonly roundTrips: number };
}

const BLOCK = 4096;

/** The arithmetic: one value at concurrency 1 needs two round trips and one fsync. */
export function floorOf(m: FloorMeasurements): Floor {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    ...m,
    fsyncAppendUs: round(m.fsyncAppendUs),
    fsyncPreallocatedUs: round(m.fsyncPreallocatedUs),
    wsRoundTripUs: round(m.wsRoundTripUs),
    valueAppendUs: round(2 * m.wsRoundTripUs + m.fsyncAppendUs),
    valueUs: round(2 * m.wsRoundTripUs + m.fsyncPreallocatedUs),
  };
}

/** A latency in milliseconds as a multiple of the floor, to two decimals (NaN when either is not a positive number). */
export function timesFloor(latencyMs: number, floor: Pick<Floor, 'valueUs'>): number {
  if (!(floor.valueUs > 0) || !Number.isFinite(latencyMs)) return NaN;
  return Math.round(((latencyMs * 1000) / floor.valueUs) * 100) / 100;
}

/** The floor as the lines `paxos bench` prints above its table. */
export function describeFloor(f: Floor): string {
  const ms = (us: number) => (us / 1000).toFixed(2);
  return [
    `floor, measured in this run (${f.samples.fsync} fsyncs of each kind, the lowest median of ${f.samples.rounds} rounds; ${f.samples.roundTrips} round trips, the median; fsyncs in ${f.dir}):`,
    `  4 KiB write + fdatasync ${Math.round(f.fsyncAppendUs)} µs appended to a growing file, ${Math.round(f.fsyncPreallocatedUs)} µs into a preallocated one; WebSocket round trip on loopback ${Math.round(f.wsRoundTripUs)} µs`,
    `  one value at concurrency 1 (client round trip + leader→follower round trip + follower fsync): ${ms(f.valueUs)} ms preallocated, ${ms(f.valueAppendUs)} ms appending; ×floor columns divide by ${ms(f.valueUs)} ms`,
  ].join('\n');
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Measures the floor: fsyncs in a scratch folder made inside `near` (removed afterwards), round trips between two threads. */
export async function measureFloor(o: {
  near: string;
  fsyncs?: number;
  roundTrips?: number;
  rounds?: number;
}): Promise<Floor> {
  const fsyncs = o.fsyncs ?? 300;
  const roundTrips = o.roundTrips ?? 1000;
  const rounds = Math.max(1, Math.min(o.rounds ?? 3, fsyncs));
  const perRound = Math.ceil(fsyncs / rounds);
  const dir = mkdtempSync(join(o.near, '.floor-'));
  // A shared disk is busy in bursts of a second or more: the samples come in rounds, and each
  // kind's floor is the lowest of its rounds' medians, the cost when nothing else was in the way.
  const append: number[] = [];
  const preallocated: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      append.push(median(fsyncTimes(join(dir, `append-${r}`), perRound, false)));
      preallocated.push(median(fsyncTimes(join(dir, `preallocated-${r}`), perRound, true)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ws = median(await wsRoundTrips(roundTrips));
  return floorOf({
    dir: o.near,
    fsyncAppendUs: Math.min(...append),
    fsyncPreallocatedUs: Math.min(...preallocated),
    wsRoundTripUs: ws,
    samples: { fsync: perRound * rounds, rounds, roundTrips },
  });
}

/**
 * Microseconds per 4 KiB write + fdatasync, `n` of them after a few
 * unmeasured ones. The two kinds are measured one after the other, not in
 * turns: taking turns, every preallocated write's flush queued behind the
 * appending file's journal commit, and both measured as the slower one.
 */
function fsyncTimes(file: string, n: number, preallocate: boolean): number[] {
  const warm = 10;
  const block = Buffer.alloc(BLOCK, 0x61);
  const fd = openSync(file, 'w');
  try {
    if (preallocate) {
      // Written in full and synced first, as a preallocated segment is: the writes below change no size and no extent.
      const zeros = Buffer.alloc(BLOCK * 64);
      for (let written = 0; written < BLOCK * (n + warm); written += zeros.length)
        writeSync(fd, zeros, 0, Math.min(zeros.length, BLOCK * (n + warm) - written), written);
      fdatasyncSync(fd);
    }
    const times: number[] = [];
    for (let i = 0; i < n + warm; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block, 0, BLOCK, i * BLOCK);
      fdatasyncSync(fd);
      if (i >= warm) times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    return times;
  } finally {
    closeSync(fd);
  }
}

/**
 * Microseconds per WebSocket round trip: an echo server on 127.0.0.1 in a
 * worker thread (its own event loop, as a replica has), a client here sending
 * one small frame at a time and waiting for it to come back.
 */
async function wsRoundTrips(n: number): Promise<number[]> {
  // Written to run as CommonJS or as an ES module (the worker's input type follows the parent's flags): only import().
  const ws = pathToFileURL(createRequire(import.meta.url).resolve('ws')).href;
  const worker = new Worker(
    `
    (async () => {
      const { parentPort, workerData } = await import('node:worker_threads');
      const { WebSocketServer } = (await import(workerData.ws)).default;
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      server.on('connection', (s) => { s.on('message', (m, binary) => s.send(m, { binary })); });
      server.on('listening', () => parentPort.postMessage(server.address().port));
    })();
  `,
    { eval: true, workerData: { ws } },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const { WebSocket } = await import('ws');
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    try {
      const frame = JSON.stringify({ op: 'propose', key: 'k1', value: 'xxxxxxxx', requestId: 'r1' });
      const times: number[] = [];
      const warm = 50;
      for (let i = 0; i < n + warm; i++) {
        const t0 = process.hrtime.bigint();
        await new Promise<void>((resolve) => {
          client.once('message', () => resolve());
          client.send(frame);
        });
        if (i >= warm) times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      return times;
    } finally {
      client.close();
    }
  } finally {
    await worker.terminate().catch(() => undefined);
  }
}
