/** The `paxos check` service: runs the check, prints the verdict, the figures and where the results are. */
import { type CheckOptions, type CheckResults, runCheck } from '../../check/run.js';
import { nodeName } from '../../core/types.js';
import { runDown } from './down.js';

export async function runCheckCommand(o: Omit<CheckOptions, 'log' | 'progress'> & { json: boolean }): Promise<number> {
  const tty = process.stderr.isTTY === true && !o.json;
  const log = (line: string) => {
    if (tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${line}\n`);
  };
  const interrupt = o.attach || o.clusterFile !== undefined ? null : new CheckInterrupt(o.clusterHome, log);
  interrupt?.listen();
  let results: CheckResults;
  try {
    results = await runCheck({
      ...o,
      log,
      ...(tty ? { progress: (line: string) => process.stderr.write(`\r\x1b[2K${line}`) } : {}),
    });
  } catch (err) {
    // The check may fail because the interrupt is stopping its cluster under it: the interrupt's exit (130) is the answer.
    await interrupt?.finishing();
    throw err;
  }
  await interrupt?.finishing();
  interrupt?.unlisten();
  if (tty) process.stderr.write('\r\x1b[2K');
  if (o.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  else for (const line of summary(results, o.outDir)) process.stdout.write(`${line}\n`);
  return results.verdict === 'pass' ? 0 : results.verdict === 'fail' ? 1 : 3;
}

/** Ctrl-C, a kill and a terminal closing all stop the check's cluster. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Ctrl-C during a check: the cluster it started runs detached, so it would
 * outlive the check unseen. It is stopped, the user is told, and the process
 * exits 130 (no verdict: the run did not finish). An attached check leaves
 * the user's own cluster alone.
 *
 * The stop runs once and to its end: a second Ctrl-C while it runs is
 * answered, not obeyed (with `process.once` the second one met Node's default
 * exit and cut the stop short), and the check, which may end early because
 * its cluster is going away, does not answer with a verdict of its own.
 */
class CheckInterrupt {
  private stopping: Promise<never> | null = null;
  private readonly onSignal = () => this.stop();

  constructor(
    private readonly clusterHome: string,
    private readonly log: (line: string) => void,
  ) {}

  listen(): void {
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
  }

  unlisten(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal);
  }

  /** Resolves at once when no stop began; otherwise never (the stop exits the process). */
  finishing(): Promise<void> {
    return this.stopping ?? Promise.resolve();
  }

  private stop(): void {
    if (this.stopping !== null) {
      this.log(`still stopping the check's cluster in ${this.clusterHome}; a moment`);
      return;
    }
    this.log(
      `interrupted: stopping the check's cluster in ${this.clusterHome}; there is no verdict, the run did not finish`,
    );
    this.stopping = runDown(this.clusterHome, { wipe: false })
      .then(
        (r) => {
          for (const line of r.lines) this.log(line);
        },
        (err: Error) =>
          this.log(`could not stop it (${err.message}); stop it with \`PAXOS_HOME=${this.clusterHome} paxos down\``),
      )
      .then(() => process.exit(130));
  }
}

interface Shape {
  disk?: { node: number; damage: string; started: boolean; broughtBack?: string }[];
  configuration?: { epoch: number; voters: number[]; startSlot: number };
  operations: { total: number; ok: number; fail: number; info: number };
  availability: {
    overall: number;
    calm: number | null;
    byFault: Record<string, number>;
    latencyMs: { p50: number; p99: number; max: number } | null;
  };
  checks: {
    linearizable: { ok: boolean | 'unknown'; reason?: string };
    agreement: { ok: boolean; conflicts: string[]; converged: boolean };
    durability: { ok: boolean; acknowledgedWrites: number; inSnapshots?: number; missing: string[] };
    identities: { ok: boolean; reused: string[] };
    refusedNeverChosen?: { ok: boolean; refusedWrites: number; chosen: string[] };
    recovery: { ok: boolean; reason?: string };
  };
}

/** What the disk nemesis did, replica by replica: its damage, whether the replica refused it, and how it came back. */
function diskSummary(disk: NonNullable<Shape['disk']>): string {
  return disk
    .map(
      (d) =>
        `${nodeName(d.node)} ${d.damage}: ${d.started ? 'started' : `refused${d.broughtBack !== undefined ? `, then ${d.broughtBack}` : ''}`}`,
    )
    .join('; ');
}

function summary(r: CheckResults, outDir: string): string[] {
  const s = r as unknown as CheckResults & Shape;
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const faults = Object.entries(s.availability.byFault)
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(', ');
  const lat = s.availability.latencyMs;
  const lin = s.checks.linearizable;
  return [
    `${r.verdict.toUpperCase()}: ${s.operations.total} operations (${s.operations.ok} ok, ${s.operations.fail} failed, ${s.operations.info} unknown)`,
    `  linearizable: ${lin.ok === true ? 'yes' : lin.ok === false ? `NO (${lin.reason})` : `undecided (${lin.reason})`}`,
    `  agreement: ${s.checks.agreement.ok ? `every replica agrees ${r.protocol === 'multi' ? 'slot by slot' : 'key by key'}` : `NO: ${s.checks.agreement.conflicts.slice(0, 3).join('; ')}`}${s.checks.agreement.converged ? '' : ' (not every replica had caught up)'}`,
    `  durability: ${s.checks.durability.ok ? `all ${s.checks.durability.acknowledgedWrites} acknowledged writes present on every replica${s.checks.durability.inSnapshots ? ` (${s.checks.durability.inSnapshots} of them inside a replica's snapshot)` : ''}` : `LOST: ${s.checks.durability.missing.slice(0, 3).join('; ')}`}`,
    ...(s.checks.refusedNeverChosen === undefined
      ? []
      : [
          `  refused answers: ${s.checks.refusedNeverChosen.ok ? `none of the ${s.checks.refusedNeverChosen.refusedWrites} refused writes was chosen` : `CHOSEN after all: ${s.checks.refusedNeverChosen.chosen.slice(0, 3).join('; ')}`}`,
        ]),
    ...(s.checks.recovery.ok ? [] : [`  recovery: NO: ${s.checks.recovery.reason}`]),
    ...(s.disk === undefined ? [] : [`  disk faults: ${diskSummary(s.disk)}`]),
    ...(s.configuration !== undefined && s.configuration.epoch > 0
      ? [
          `  configuration at the end: epoch ${s.configuration.epoch}, voters ${s.configuration.voters.map((v) => nodeName(v)).join(', ')} (from slot ${s.configuration.startSlot})`,
        ]
      : []),
    ...(s.checks.identities.ok
      ? []
      : [`  identities: REUSED by a replica: ${s.checks.identities.reused.slice(0, 2).join('; ')}`]),
    `  availability: ${pct(s.availability.overall)} overall, ${pct(s.availability.calm)} calm${faults ? `, ${faults}` : ''}`,
    ...(lat
      ? [
          `  latency of ok operations: p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(1)} ms`,
        ]
      : []),
    `  results: ${outDir} (results.json, history.jsonl, nemesis.json, timeline.html, latency.svg)`,
    `  reproduce: ${r.reproduce}`,
  ];
}
