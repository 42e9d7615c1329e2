/**
 * `paxos check`: a Jepsen-style run on real replica processes. It starts a
 * cluster of its own (or attaches to the running one), runs concurrent
 * clients while a seeded nemesis injects faults, then heals everything,
 * restarts every replica, reads every key and every replica's chosen log,
 * and checks linearizability, agreement and durability. Everything it saw
 * goes into a results folder: results.json, history.jsonl, the nemesis
 * schedule, timeline.html and latency.svg.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterClient } from '../cluster/client.js';
import { paxosHome } from '../cluster/home.js';
import { currentMembership } from '../cluster/membership-changes.js';
import type { ClusterStatus } from '../cluster/orchestrator.js';
import type { Membership } from '../core/membership.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import {
  availability,
  type ChosenLog,
  checkAgreement,
  checkDurability,
  checkIdentities,
  checkLinearizability,
  checkRefusedNeverChosen,
} from './checks.js';
import { OrchestratorDiskDriver } from './disk-driver.js';
import type { DiskOutcome } from './disk-fault.js';
import type { CheckDriver } from './driver.js';
import { AdminDriver } from './driver-admin.js';
import { type CompletedOp, type HistoryEvent, pairOperations, toJsonl } from './history.js';
import { renderLatencySvg } from './latency-svg.js';
import {
  BY_ADMIN_API,
  BY_SIGNALS,
  describeFault,
  drawSchedule,
  type FaultMeans,
  type NemesisKind,
  type ScheduledFault,
} from './nemesis.js';
import { NemesisRunner } from './nemesis-runner.js';
import { renderTimeline, type TimelineOp } from './report-html.js';
import { sleep, Workload } from './workload.js';

/** Files the check writes: readable by their owner only. */
const PRIVATE = { mode: 0o600 } as const;

export interface CheckOptions {
  readonly clusterSize: number;
  readonly protocol: 'multi' | 'basic';
  readonly durationMs: number;
  readonly clients: number;
  readonly keys: number;
  readonly nemesis: readonly NemesisKind[];
  readonly seed: number;
  readonly outDir: string;
  /** Use the cluster running in PAXOS_HOME instead of starting one. */
  readonly attach: boolean;
  /** Replicas on other hosts, described by a cluster file: driven through their admin API, never started or stopped. */
  readonly clusterFile?: string;
  /** Where a cluster of its own lives (its PAXOS_HOME). */
  readonly clusterHome: string;
  /** A bug planted in the replicas (PAXOS_PLANT), to show the check catches it. */
  readonly plant?: string;
  readonly opTimeoutMs: number;
  /** Time budget of the linearizability search. */
  readonly checkBudgetMs: number;
  readonly progress?: (line: string) => void;
  readonly log: (line: string) => void;
}

export interface CheckResults {
  readonly verdict: 'pass' | 'fail' | 'unknown';
  readonly reproduce: string;
  readonly [field: string]: unknown;
}

const BIN = fileURLToPath(new URL('../../../bin/paxos.js', import.meta.url));
const SETTLE_TIMEOUT_MS = 30_000;

export async function runCheck(o: CheckOptions): Promise<CheckResults> {
  // The history and timeline quote every value written: the results are private to the user, like the logs.
  mkdirSync(o.outDir, { recursive: true, mode: 0o700 });
  // Basic Paxos has fixed acceptors (it refuses membership change), so that fault is left out of its schedule;
  // so it is with --cluster, where nobody starts or stops replicas.
  // The disk nemesis damages data directories on this machine, which a cluster on other hosts does not have here.
  const remote = o.clusterFile !== undefined;
  const means = meansOf(o);
  const kinds = o.nemesis.filter(
    (k) => !((o.protocol === 'basic' || remote) && k === 'membership') && !(remote && k === 'disk'),
  );
  if (kinds.length < o.nemesis.length)
    o.log(
      remote
        ? 'the membership and disk nemeses are left out: with --cluster nothing starts or stops replicas, and their data is on other hosts'
        : 'the membership nemesis is left out: Basic Paxos has a fixed set of acceptors',
    );
  const schedule = drawSchedule({ seed: o.seed, clusterSize: o.clusterSize, durationMs: o.durationMs, kinds });
  o.log(`nemesis schedule (seed ${o.seed}):${schedule.length === 0 ? ' none' : ''}`);
  for (const f of schedule)
    o.log(`  ${(f.startMs / 1000).toFixed(1)}s-${(f.endMs / 1000).toFixed(1)}s ${describeFault(f.fault, means)}`);
  writeFileSync(
    join(o.outDir, 'nemesis.json'),
    `${JSON.stringify(
      schedule.map((f) => ({ ...f, description: describeFault(f.fault, means) })),
      null,
      2,
    )}\n`,
    PRIVATE,
  );
  if (o.clusterFile !== undefined) {
    o.log(
      "with --cluster, kill is the admin API's crash (the supervisor restarts the replica) and pause its freeze; partitions, delay and drop are rule sets that expire",
    );
    const driver = AdminDriver.open(o.clusterFile, o.log);
    try {
      return await runAgainst(driver, o, schedule, { home: '', scratchDir: null });
    } finally {
      driver.close();
    }
  }
  const home = o.attach ? (process.env.PAXOS_HOME ?? '') : o.clusterHome;
  if (!o.attach) startCluster(o);
  const cluster = await ClusterClient.connect(...((o.attach ? [] : [home]) as [string?]));
  // The disk nemesis's copies of replicas' data: in a directory of the check's own, removed when it ends.
  const scratchDir = kinds.includes('disk') ? mkdtempSync(join(o.outDir, 'disk-copies-')) : null;
  try {
    return await runAgainst(cluster, o, schedule, { home: home === '' ? paxosHome() : home, scratchDir });
  } finally {
    // Waits for the orchestrator to exit: the replicas write into the check's results folder until they have.
    if (!o.attach) await cluster.stop().catch(() => undefined);
    else cluster.close();
    if (scratchDir !== null) rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** Slots between snapshots in a check's cluster: a check of a few thousand operations compacts many times. */
const CHECK_SNAPSHOT_EVERY_SLOTS = 300;

/** A fresh cluster in its own home, started as `paxos up --detach` would, with the planted bug (if any) in its environment. */
/** With --cluster the replicas are crashed and frozen through their admin API, never signalled: the words say so. */
function meansOf(o: CheckOptions): FaultMeans {
  return o.clusterFile !== undefined ? BY_ADMIN_API : BY_SIGNALS;
}

function startCluster(o: CheckOptions): void {
  const env: NodeJS.ProcessEnv = { ...process.env, PAXOS_HOME: o.clusterHome };
  if (o.plant !== undefined) env.PAXOS_PLANT = o.plant;
  else delete env.PAXOS_PLANT;
  // Fresh, because a second check with the same --out must not resume the first one's data; a small snapshot
  // interval, so replicas compact and install snapshots under the nemesis, as a long-lived cluster would.
  const args = [
    BIN,
    'up',
    '-n',
    String(o.clusterSize),
    '--protocol',
    o.protocol,
    '--detach',
    '--fresh',
    '--snapshot-every',
    String(CHECK_SNAPSHOT_EVERY_SLOTS),
  ];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  if (r.status !== 0)
    throw new OperatingError(`could not start the cluster for the check: ${(r.stderr || r.stdout).trim()}`);
}

async function runAgainst(
  cluster: CheckDriver,
  o: CheckOptions,
  schedule: readonly ScheduledFault[],
  place: { readonly home: string; readonly scratchDir: string | null },
): Promise<CheckResults> {
  const started = performance.now();
  const nowMs = () => performance.now() - started;
  const events: HistoryEvent[] = [];
  const record = (e: HistoryEvent) => events.push(e);
  let status = await cluster.status();
  if (status.protocol !== o.protocol || status.clusterSize !== o.clusterSize) {
    throw new OperatingError(
      `the running cluster is ${status.clusterSize} ${status.protocol} replicas, not ${o.clusterSize} ${o.protocol}; pass -n ${status.clusterSize} --protocol ${status.protocol}`,
    );
  }
  await waitReady(cluster, o.protocol, SETTLE_TIMEOUT_MS);
  const poll = setInterval(
    () =>
      void cluster.status().then(
        (s) => {
          status = s;
        },
        () => undefined,
      ),
    300,
  );
  const runId = `${o.seed.toString(36)}${Date.now().toString(36)}`;
  const workload = new Workload({
    cluster,
    protocol: o.protocol,
    clients: o.clients,
    keys: o.keys,
    seed: o.seed,
    runId,
    opTimeoutMs: o.opTimeoutMs,
    nowMs,
    record,
    candidates: () => status.replicas.filter((r) => r.up).map((r) => r.id),
    // A cluster the check did not start holds earlier runs' keys, which its history could not explain.
    ...(o.clusterFile !== undefined ? { keyPrefix: keyPrefixOf(runId) } : {}),
  });
  // Basic Paxos has no leader: a fault aimed at "the leader" hits the lowest-numbered replica that is up.
  const target = () =>
    leaderOf(status) ?? (o.protocol === 'basic' ? (status.replicas.find((r) => r.up)?.id ?? null) : null);
  const members = () => status.replicas.map((r) => r.id);
  const diskOutcomes: DiskOutcome[] = [];
  const nemesis = nemesisFor({ o, cluster, schedule, nowMs, record, leader: target, members, place, diskOutcomes });
  try {
    workload.start();
    await runFor(o, nowMs, () => workload.opsDone, nemesis);
    await workload.stop();
    await nemesis.finish();
  } finally {
    clearInterval(poll);
  }
  o.log('healing, restarting every replica, and reading the final state');
  await recover(cluster);
  // A cluster that cannot decide again once every fault is gone has failed the check (liveness), and says why.
  const recovery = await waitReady(cluster, o.protocol, SETTLE_TIMEOUT_MS).then(
    () => ({ ok: true as const }),
    (err: Error) => ({ ok: false as const, reason: err.message }),
  );
  if (recovery.ok) await finalReads(o, workload, cluster, runId);
  // The final reads dialled afresh: their connections close too, or a cluster this check does not stop keeps it alive.
  await workload.stop();
  const final = await cluster.status();
  const logs = await convergedLogs(
    cluster,
    final.replicas.map((r) => r.id),
  );
  // The configuration the run ended in: after the membership nemesis it is not the one it started with.
  const configuration =
    o.protocol === 'multi'
      ? currentMembership(
          final.replicas.map((r) => r.status),
          final.clusterSize,
        )
      : null;
  return conclude(o, events, schedule, logs, nowMs(), recovery, configuration, diskOutcomes);
}

/** The nemesis of the run; the disk nemesis gets its driver, its scratch space and somewhere to say what it did. */
function nemesisFor(x: {
  o: CheckOptions;
  cluster: CheckDriver;
  schedule: readonly ScheduledFault[];
  nowMs: () => number;
  record: (e: HistoryEvent) => void;
  leader: () => number | null;
  members: () => readonly number[];
  place: { readonly home: string; readonly scratchDir: string | null };
  diskOutcomes: DiskOutcome[];
}): NemesisRunner {
  const { o, place } = x;
  return new NemesisRunner({
    cluster: x.cluster,
    schedule: x.schedule,
    nowMs: x.nowMs,
    record: x.record,
    log: o.log,
    leader: x.leader,
    members: x.members,
    ...(place.scratchDir !== null && x.cluster instanceof ClusterClient
      ? {
          disk: {
            driver: new OrchestratorDiskDriver(x.cluster, place.home, o.log),
            protocol: o.protocol,
            scratchDir: place.scratchDir,
            copies: new Map(),
            log: o.log,
            sleep,
          },
          diskDone: (outcomes) => x.diskOutcomes.push(...outcomes),
        }
      : {}),
  });
}

/** Drives the nemesis until the run's time is up, with a progress line. */
async function runFor(
  o: CheckOptions,
  nowMs: () => number,
  opsDone: () => number,
  nemesis: NemesisRunner,
): Promise<void> {
  for (let guard = 0; guard < 10_000_000 && nowMs() < o.durationMs; guard++) {
    await nemesis.step();
    const left = Math.max(0, (o.durationMs - nowMs()) / 1000);
    o.progress?.(`${left.toFixed(0)}s left  ${opsDone()} ops  ${nemesis.current() ?? 'calm'}`);
    await sleep(100);
  }
}

/** Heals the network, resumes and restarts every replica: the end of every fault. */
async function recover(cluster: CheckDriver): Promise<void> {
  await cluster.heal().catch(() => undefined);
  await cluster.net({ delayMs: null, dropRate: 0 }).catch(() => undefined);
  await cluster.resumeAll().catch(() => undefined);
  await cluster.restartAll().catch(() => undefined);
}

/** Every replica up and, in Multi-Paxos, a leader known: the cluster can decide again. */
async function waitReady(cluster: CheckDriver, protocol: 'multi' | 'basic', timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: ClusterStatus | null = null;
  while (performance.now() < deadline) {
    last = await cluster.status().catch(() => null);
    if (last?.replicas.every((r) => r.up) && (protocol === 'basic' || leaderOf(last) !== null)) return;
    await sleep(200);
  }
  const down = last?.replicas.filter((r) => !r.up).map((r) => nodeName(r.id)) ?? [];
  throw new OperatingError(
    `the cluster did not recover within ${timeoutMs / 1000}s (every replica up${protocol === 'multi' ? ' and a leader elected' : ''})${down.length > 0 ? `; down: ${down.join(', ')} (see their logs)` : ''}`,
  );
}

function keyPrefixOf(runId: string): string {
  return `chk-${runId}-k`;
}

function leaderOf(s: ClusterStatus): number | null {
  return s.replicas.find((r) => r.up && r.status?.view.role === 'leader')?.id ?? null;
}

/**
 * How long the final reads may take in all: a cluster that answers every
 * read with a timeout (a broken one, a planted bug) would otherwise hold the
 * check for keys × 20 tries × the operation timeout.
 */
const FINAL_READS_BUDGET_MS = 30_000;

/** After the heal, one read of every key that was touched, by a final process, retried until it succeeds (each try is recorded). */
async function finalReads(o: CheckOptions, workload: Workload, cluster: CheckDriver, runId: string): Promise<void> {
  const keys = new Set<string>();
  const keyCount = o.protocol === 'basic' ? o.keys * 40 : o.keys;
  const prefix = o.clusterFile !== undefined ? keyPrefixOf(runId) : 'k';
  for (let k = 1; k <= keyCount; k++) keys.add(`${prefix}${k}`);
  let seq = 0;
  const status = await cluster.status();
  const up = status.replicas.filter((r) => r.up).map((r) => r.id);
  const deadline = performance.now() + FINAL_READS_BUDGET_MS;
  for (const key of keys) {
    if (performance.now() > deadline) {
      o.log(`final reads stopped after ${FINAL_READS_BUDGET_MS / 1000}s: ${key} and the keys after it were not read`);
      return;
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const node = up[(seq + attempt) % up.length];
      const done = await workload.runOne({
        process: 0,
        // Numbered by the replica asked: each try is a new command (a read), never a retry of one.
        session: '',
        seq: ++seq,
        node,
        op: 'get',
        key,
        value: null,
      });
      if (done.type === 'ok') break;
      await sleep(100);
    }
  }
}

/** Every replica's chosen log, read until they stop changing (catch-up after the restarts) or a bound passes. */
async function convergedLogs(
  cluster: CheckDriver,
  nodes: readonly number[],
): Promise<{ logs: Map<number, ChosenLog>; compacted: Map<number, number> }> {
  let logs = new Map<number, ChosenLog>();
  let compacted = new Map<number, number>();
  for (let round = 0; round < 30; round++) {
    logs = new Map();
    compacted = new Map();
    // A replica that does not answer (it did not recover) is left out of the comparison; recovery says why.
    for (const node of nodes) {
      const read = await readLog(cluster, node).catch(() => null);
      if (read === null) continue;
      logs.set(node, read.log);
      compacted.set(node, read.compactedThrough);
    }
    // A replica's snapshot holds the slots it compacted: those count as learned.
    const sizes = [...logs].map(([node, l]) => l.size + (compacted.get(node) ?? 0));
    if (sizes.every((n) => n === sizes[0])) break;
    await sleep(500);
  }
  return { logs, compacted };
}

async function readLog(cluster: CheckDriver, node: number): Promise<{ log: ChosenLog; compactedThrough: number }> {
  const log: ChosenLog = new Map();
  let compactedThrough = 0;
  const conn = await cluster.replica(node);
  try {
    let from: number | null = 0;
    for (let page = 0; page < 10_000 && from !== null; page++) {
      const r = (await conn.request({ op: 'log', from }, 10_000)) as {
        entries: [string, string, string][];
        next: number | null;
        compactedThrough?: number;
      };
      for (const [instance, id, text] of r.entries) log.set(instance, { id, text });
      compactedThrough = Math.max(compactedThrough, r.compactedThrough ?? 0);
      from = r.next;
    }
  } finally {
    conn.close();
  }
  return { log, compactedThrough };
}

function conclude(
  o: CheckOptions,
  events: readonly HistoryEvent[],
  schedule: readonly ScheduledFault[],
  read: { logs: Map<number, ChosenLog>; compacted: Map<number, number> },
  durationMs: number,
  recovery: { ok: boolean; reason?: string },
  configuration: Membership | null,
  disk: readonly DiskOutcome[],
): CheckResults {
  const { logs, compacted } = read;
  const ops = pairOperations(events);
  const lin = checkLinearizability({ protocol: o.protocol, ops, deadlineMs: o.checkBudgetMs });
  const agreement = checkAgreement(logs, compacted);
  const durability = checkDurability({ protocol: o.protocol, ops, logs, compacted });
  const identities = checkIdentities(ops);
  const refusals = checkRefusedNeverChosen({ protocol: o.protocol, ops, logs });
  const verdict =
    !recovery.ok || !agreement.ok || !durability.ok || !identities.ok || !refusals.ok || lin.ok === false
      ? 'fail'
      : lin.ok === 'unknown'
        ? 'unknown'
        : 'pass';
  const counts = { total: ops.length, ok: 0, fail: 0, info: 0 };
  for (const op of ops) counts[op.completion?.type ?? 'info']++;
  const results: CheckResults = {
    verdict,
    reproduce: reproduction(o),
    seed: o.seed,
    protocol: o.protocol,
    clusterSize: o.clusterSize,
    durationMs: Math.round(durationMs),
    clients: o.clients,
    keys: o.keys,
    nemesis: o.nemesis,
    ...(o.plant !== undefined ? { plant: o.plant } : {}),
    schedule: schedule.map((f) => ({
      startMs: f.startMs,
      endMs: f.endMs,
      description: describeFault(f.fault, meansOf(o)),
    })),
    operations: counts,
    availability: availability(ops, schedule),
    ...(disk.length > 0 ? { disk } : {}),
    ...(configuration !== null
      ? {
          configuration: {
            epoch: configuration.epoch,
            voters: configuration.voters,
            startSlot: configuration.startSlot,
          },
        }
      : {}),
    checks: {
      linearizable: {
        ok: lin.ok,
        ...(lin.reason !== undefined ? { reason: lin.reason } : {}),
        violatingKeys: lin.violatingKeys,
        undecidedKeys: lin.undecidedKeys,
      },
      agreement: {
        ok: agreement.ok,
        conflicts: agreement.conflicts,
        converged: agreement.converged,
        chosenPerReplica: agreement.chosenPerReplica,
      },
      durability: {
        ok: durability.ok,
        acknowledgedWrites: durability.acknowledged,
        inSnapshots: durability.inSnapshots,
        missing: durability.missing,
      },
      identities: { ok: identities.ok, reused: identities.reused },
      refusedNeverChosen: { ok: refusals.ok, refusedWrites: refusals.refused, chosen: refusals.chosen },
      recovery,
    },
  };
  const suspects = new Set([...lin.suspects, ...refusals.suspects]);
  writeOutputs(o, events, ops, schedule, results, suspects, durationMs);
  return results;
}

function writeOutputs(
  o: CheckOptions,
  events: readonly HistoryEvent[],
  ops: readonly CompletedOp[],
  schedule: readonly ScheduledFault[],
  results: CheckResults,
  suspects: ReadonlySet<CompletedOp>,
  durationMs: number,
): void {
  writeFileSync(join(o.outDir, 'history.jsonl'), toJsonl(events), PRIVATE);
  writeFileSync(join(o.outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`, PRIVATE);
  const timeline: TimelineOp[] = ops.map((op) => ({
    client: op.invoke.process,
    key: op.invoke.key,
    op: op.invoke.op,
    node: op.invoke.node,
    value: op.invoke.op === 'set' ? op.invoke.value : op.completion?.type === 'ok' ? op.completion.value : null,
    outcome: op.completion?.type ?? 'info',
    startMs: op.invoke.timeMs,
    endMs: op.completion?.timeMs ?? null,
    highlight: suspects.has(op),
  }));
  const nemesis = schedule.map((f) => ({
    kind: f.fault.kind,
    description: describeFault(f.fault, meansOf(o)),
    startMs: f.startMs,
    endMs: f.endMs,
  }));
  const title = `paxos check: ${o.clusterSize} ${o.protocol} replicas, seed ${o.seed}${o.plant ? `, planted bug ${o.plant}` : ''}`;
  writeFileSync(
    join(o.outDir, 'timeline.html'),
    renderTimeline({ title, verdict: verdictText(results), ops: timeline, nemesis, durationMs }),
    PRIVATE,
  );
  writeFileSync(
    join(o.outDir, 'latency.svg'),
    renderLatencySvg({ ops: sampleForPlot(timeline), nemesis, durationMs }),
    PRIVATE,
  );
}

/** The checks by the names the report gives them. */
const CHECK_NAMES: Record<string, string> = {
  linearizable: 'linearizable',
  agreement: 'agreement',
  durability: 'durability',
  identities: 'identities unique',
  refusedNeverChosen: 'refused answers never chosen',
  recovery: 'recovery',
};

/** The verdict with the checks behind it, for the timeline's heading. */
function verdictText(r: CheckResults): string {
  const checks = r.checks as Record<string, { ok: boolean | 'unknown' } | undefined>;
  const named = Object.entries(CHECK_NAMES);
  const failed = named.filter(([k]) => checks[k]?.ok === false).map(([, name]) => name);
  if (failed.length > 0) return `${r.verdict}: ${failed.join(', ')} failed`;
  const undecided = named.filter(([k]) => checks[k]?.ok === 'unknown').map(([, name]) => name);
  if (undecided.length > 0) return `${r.verdict}: ${undecided.join(', ')} undecided`;
  return `${r.verdict}: ${named.map(([, name]) => name).join(', ')}`;
}

/** Most dots a latency plot draws; past it every k-th op is kept (and every unknown or highlighted one), so the file stays small. */
const MAX_PLOTTED_OPS = 20_000;

function sampleForPlot(ops: readonly TimelineOp[]): TimelineOp[] {
  if (ops.length <= MAX_PLOTTED_OPS) return [...ops];
  const every = Math.ceil(ops.length / MAX_PLOTTED_OPS);
  return ops.filter((op, i) => i % every === 0 || op.outcome !== 'ok' || op.highlight === true);
}

export function reproduction(
  o: Pick<
    CheckOptions,
    'clusterSize' | 'protocol' | 'durationMs' | 'clients' | 'keys' | 'nemesis' | 'seed' | 'plant' | 'clusterFile'
  >,
): string {
  const nemesis = o.nemesis.length === 0 ? 'none' : o.nemesis.join(',');
  if (o.clusterFile !== undefined)
    return `paxos check --cluster ${o.clusterFile} --time ${o.durationMs / 1000}s --clients ${o.clients} --keys ${o.keys} --nemesis ${nemesis} --seed ${o.seed}`;
  return `paxos check -n ${o.clusterSize} --protocol ${o.protocol} --time ${o.durationMs / 1000}s --clients ${o.clients} --keys ${o.keys} --nemesis ${nemesis} --seed ${o.seed}${o.plant ? ` --plant ${o.plant}` : ''}`;
}
