/**
 * `paxos bench --soak`: one configuration, run for many values or a long
 * time, with a row per interval (values chosen, throughput, latency, the
 * replicas' peak memory, the bytes in their data directories) and a summary
 * that says whether memory, disk and throughput stayed flat. The keys cycle
 * through a bounded set, so the application state stops growing early and any
 * later growth is what the replicas keep beyond it.
 */
import { lstatSync, readdirSync, type Stats, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { percentile } from '../../bench/load.js';
import { type IntervalLoad, type SoakLength, SoakLoad } from '../../bench/soak.js';
import { must } from '../../core/must.js';
import type { Protocol } from '../../core/types.js';
import { OperatingError } from '../../errors.js';
import {
  attached,
  connectionsTo,
  entryReplicas,
  type Interrupt,
  machine,
  ownCluster,
  parkedOnInterrupt,
  round2,
  statuses,
  type Target,
  withInterrupt,
} from './bench.js';

export interface SoakOptions {
  readonly protocol: Protocol;
  readonly nodes: number;
  readonly concurrency: number;
  readonly valueSize: number;
  /** Multi-Paxos keys cycle through k0..k(keys-1); Basic Paxos keys are write-once, so each value gets a new one. */
  readonly keys: number;
  readonly length: SoakLength;
  readonly interval: SoakLength;
  readonly attach: boolean;
  readonly json: boolean;
  readonly out?: string;
  readonly print: (line: string) => void;
  readonly progress?: (text: string) => void;
}

export interface SoakRow {
  readonly interval: number;
  /** Values chosen since the soak began. */
  readonly chosenTotal: number;
  readonly chosen: number;
  readonly failed: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The largest resident set of any replica seen during the interval. */
  readonly peakRssBytes: number;
  /** Everything in the replicas' data directories, summed, at the interval's end. */
  readonly diskBytes: number;
  readonly partial: boolean;
}

export interface SoakSummary {
  /** Whole intervals; a partial last one is shown but not compared. */
  readonly intervals: number;
  /** Last quarter of the whole intervals over the second quarter (the first holds the warm-up); null with fewer than four. */
  readonly rssRatio: number | null;
  readonly diskRatio: number | null;
  readonly throughputRatio: number | null;
  readonly text: string;
}

export interface SoakResult {
  readonly rows: readonly SoakRow[];
  readonly summary: SoakSummary;
}

/** How often the replicas' memory is read during an interval, so a short peak is not missed. */
const RSS_POLL_MS = 500;
/** The sample at an interval's end waits at most this long for a replica; Ctrl-C's own bound is 8 s. */
const SAMPLE_TIMEOUT_MS = 2000;
/** A replica's data directory holds a handful of files; this many entries means something is wrong, not a slow walk. */
const MAX_DISK_ENTRIES = 1_000_000;
/** A ratio within this much of 1 counts as flat. */
const FLAT_TOLERANCE = 0.1;

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  return withInterrupt(async (interrupt) => {
    const target = o.attach ? await attached() : await ownCluster(o.protocol, o.nodes, interrupt);
    try {
      return await soak(target, o, interrupt);
    } finally {
      if (!interrupt.fired) await target.close();
    }
  });
}

async function soak(t: Target, o: SoakOptions, interrupt: Interrupt): Promise<SoakResult> {
  const conns = (await connectionsTo(t, await entryReplicas(t))).map((c) => parkedOnInterrupt(c, interrupt));
  const config = {
    protocol: t.protocol,
    nodes: t.nodes,
    concurrency: o.concurrency,
    valueSize: o.valueSize,
    keys: t.protocol === 'multi' ? o.keys : null,
    length: o.length,
    interval: o.interval,
  };
  const rows: SoakRow[] = [];
  // A file that cannot be written is reported now, not after an hour of load.
  if (o.out) writeOut(o.out, config, rows);
  const rss = new PeakRss(t);
  // Rows are sampled and printed in order, one after another, while the load goes on.
  let emitting = Promise.resolve();
  const emit = (load: IntervalLoad): void => {
    const peakRssBytes = rss.takePeak();
    emitting = emitting.then(async () => {
      const row = await sampleRow(t, load, peakRssBytes);
      rows.push(row);
      if (!o.json) o.print(formatRow(row, rows.length === 1 ? config : null));
      if (o.out) writeOut(o.out, config, rows);
    });
  };
  const runId = `s${Date.now()}`;
  const load = new SoakLoad({
    connections: conns,
    concurrency: o.concurrency,
    value: 'x'.repeat(o.valueSize),
    timeoutMs: 10_000,
    length: o.length,
    interval: o.interval,
    key: t.protocol === 'multi' ? (i) => `k${i % o.keys}` : (i) => `${runId}-${i}`,
    onInterval: emit,
    onProgress: (chosen) =>
      o.progress?.(`soak: ${chosen} values chosen${'values' in o.length ? ` of ${o.length.values}` : ''}`),
  });
  const finish = (): SoakResult => {
    const summary = summarize(rows);
    if (o.json) o.print(JSON.stringify({ config, rows, summary }));
    else o.print(summary.text);
    if (o.out) writeOut(o.out, config, rows, summary);
    return { rows, summary };
  };
  // Ctrl-C: the interval in progress becomes a partial row, sampled while the replicas are still up, then the summary so far.
  const unregister = interrupt.onStop(async () => {
    load.stopNow();
    rss.stop();
    await emitting;
    finish();
  });
  let outcome: { stoppedByFailures: string | null };
  try {
    outcome = await load.run();
  } finally {
    rss.stop();
    for (const c of conns) c.close();
  }
  await emitting;
  if (interrupt.fired) return new Promise<never>(() => undefined);
  unregister();
  const result = finish();
  if (outcome.stoppedByFailures !== null)
    throw new OperatingError(
      `the soak stopped because proposals kept failing, the last with: ${outcome.stoppedByFailures}`,
    );
  return result;
}

/** The largest resident set any replica reports, polled through an interval and reset at its end. */
class PeakRss {
  private peakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(t: Target) {
    this.timer = setInterval(
      () =>
        void statuses(t, SAMPLE_TIMEOUT_MS).then((ss) => {
          for (const s of ss) this.peakBytes = Math.max(this.peakBytes, s.rssBytes);
        }),
      RSS_POLL_MS,
    );
  }

  takePeak(): number {
    const p = this.peakBytes;
    this.peakBytes = 0;
    return p;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function sampleRow(t: Target, load: IntervalLoad, polledPeakBytes: number): Promise<SoakRow> {
  const now = await statuses(t, SAMPLE_TIMEOUT_MS);
  const peakRssBytes = Math.max(polledPeakBytes, ...now.map((s) => s.rssBytes));
  return {
    interval: load.index,
    chosenTotal: load.chosenTotal,
    chosen: load.chosen,
    failed: load.failed,
    seconds: round2(load.seconds),
    opsPerSec: load.seconds > 0 ? Math.round(load.chosen / load.seconds) : 0,
    p50Ms: round2(percentile(load.latenciesMs, 0.5)),
    p99Ms: round2(percentile(load.latenciesMs, 0.99)),
    peakRssBytes,
    diskBytes: diskBytes(t.dataDirs),
    partial: load.partial,
  };
}

/** `du` for the replicas' data directories: the sizes of every file under them, summed. */
export function diskBytes(dirs: readonly string[]): number {
  let total = 0;
  const pending = [...dirs];
  for (let seen = 0; pending.length > 0; seen++) {
    if (seen >= MAX_DISK_ENTRIES)
      throw new OperatingError(
        `the replicas' data directories hold more than ${MAX_DISK_ENTRIES} entries, too many to measure`,
      );
    const path = must(pending.pop(), 'the loop runs while entries are pending');
    let stat: Stats;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // Removed between listing and reading (a replica replacing a file): it no longer takes space.
    }
    if (!stat.isDirectory()) {
      total += stat.size;
      continue;
    }
    try {
      for (const name of readdirSync(path)) pending.push(join(path, name));
    } catch {
      // Removed after its stat: nothing left to count.
    }
  }
  return total;
}

export function summarize(rows: readonly SoakRow[]): SoakSummary {
  const whole = rows.filter((r) => !r.partial);
  const n = whole.length;
  if (n < 4) {
    return {
      intervals: n,
      rssRatio: null,
      diskRatio: null,
      throughputRatio: null,
      text: `too few whole intervals to say whether anything stayed flat: ${n}, and 4 are needed (a longer --soak or a shorter --interval)`,
    };
  }
  // The first quarter holds the warm-up (connections, JIT, the key space filling), so the second quarter is the baseline.
  const second = whole.slice(Math.floor(n / 4), Math.floor(n / 2));
  const last = whole.slice(Math.floor((3 * n) / 4));
  const ratio = (f: (r: SoakRow) => number): number | null => {
    const base = mean(second.map(f));
    return base > 0 ? round2(mean(last.map(f)) / base) : null;
  };
  const rssRatio = ratio((r) => r.peakRssBytes);
  const diskRatio = ratio((r) => r.diskBytes);
  const throughputRatio = ratio((r) => r.opsPerSec);
  const say = (name: string, x: number | null) =>
    x === null ? `${name} unknown (zero in the second quarter)` : `${name} ${x.toFixed(2)}× (${verdict(x)})`;
  return {
    intervals: n,
    rssRatio,
    diskRatio,
    throughputRatio,
    text: `${say('RSS', rssRatio)}, ${say('disk', diskRatio)}, ${say('throughput', throughputRatio)}: last quarter vs second quarter of ${n} intervals; flat means within ${FLAT_TOLERANCE * 100}%`,
  };
}

function verdict(ratio: number): string {
  if (ratio > 1 + FLAT_TOLERANCE) return 'grew';
  if (ratio < 1 - FLAT_TOLERANCE) return 'fell';
  return 'flat';
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Rewritten after every row, so a soak killed outright (not by Ctrl-C) still leaves the rows it measured. */
function writeOut(
  file: string,
  config: Record<string, unknown>,
  rows: readonly SoakRow[],
  summary?: SoakSummary,
): void {
  try {
    writeFileSync(
      file,
      `${JSON.stringify({ machine: machine(), config, rows, summary: summary ?? summarize(rows) }, null, 2)}\n`,
    );
  } catch (err) {
    throw new OperatingError(`cannot write --out ${file}: ${(err as Error).message}`);
  }
}

const COLUMNS = ['interval', 'chosen', 'ops/s', 'p50 ms', 'p99 ms', 'peak RSS', 'disk'];
const WIDTHS = [8, 10, 7, 7, 7, 10, 11];

function formatRow(
  r: SoakRow,
  config: {
    protocol: Protocol;
    nodes: number;
    valueSize: number;
    concurrency: number;
    keys: number | null;
    length: SoakLength;
    interval: SoakLength;
  } | null,
): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const cells = [
    String(r.interval),
    String(r.chosenTotal),
    String(r.opsPerSec),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    mb(r.peakRssBytes),
    mb(r.diskBytes),
  ];
  const line = (xs: string[]) => xs.map((x, i) => x.padStart(WIDTHS[i])).join(' ');
  const row = `${line(cells)}${r.partial ? ' (partial)' : ''}${r.failed > 0 ? ` ${r.failed} failed` : ''}`;
  if (config === null) return row;
  const keys = config.keys === null ? 'a new write-once key per value' : `${config.keys} keys`;
  const title = `soak: ${config.protocol} n=${config.nodes} ${config.valueSize}B c=${config.concurrency}, ${keys}, ${describeLength(config.length)}, a row every ${describeLength(config.interval)}`;
  return `${title}\n${line(COLUMNS)}\n${row}`;
}

export function describeLength(l: SoakLength): string {
  if ('values' in l) return `${l.values} values`;
  if (l.ms % 3_600_000 === 0) return `${l.ms / 3_600_000}h`;
  if (l.ms % 60_000 === 0) return `${l.ms / 60_000}m`;
  if (l.ms % 1000 === 0) return `${l.ms / 1000}s`;
  return `${l.ms}ms`;
}
