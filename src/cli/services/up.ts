/**
 * `paxos up`: starts the orchestrator in this process and watches the
 * cluster (the dashboard on a terminal, plain lines otherwise), or starts it
 * in a detached background process and returns. A home that holds a
 * cluster's data resumes that cluster; `--fresh` deletes the data first.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskFullAt, ensureHome, ensurePrivateDir, lastLine, orchestratorLogOf } from '../../cluster/home.js';
import { openPrivateLog, openRotatingLog } from '../../cluster/log-files.js';
import { dataRootOf, deleteData, describeDeleted, planUp, type UpPlan } from '../../cluster/manifest.js';
import { monotonicMs } from '../../cluster/monotonic.js';
import { Orchestrator } from '../../cluster/orchestrator.js';
import { readRecord } from '../../cluster/record.js';
import type { ClusterTemplate } from '../../cluster/templates.js';
import type { Protocol } from '../../core/types.js';
import { nodeName } from '../../core/types.js';
import { OperatingError } from '../../errors.js';
import { showLine } from '../../text/escape.js';
import { partsDirOf } from '../../trace/live.js';
import { PlainEventPrinter } from '../format.js';
import { ensureNoRunningCluster } from './cluster-guard.js';

export interface UpOptions {
  readonly home: string;
  /** -n as given (flag, environment or template); undefined leaves it to the data, or the default of 5. */
  readonly nodes?: number;
  /** --protocol as given; undefined leaves it to the data, or the default of multi. */
  readonly protocol?: Protocol;
  /** Delete the data and start an empty cluster. */
  readonly fresh: boolean;
  readonly basePort?: number;
  readonly snapshotEverySlots?: number;
  readonly detach: boolean;
  /** Internal: this process is the detached orchestrator. */
  readonly daemon: boolean;
  readonly dashboard: boolean;
  readonly template?: ClusterTemplate;
  /** `--trace FILE`, absolute: the run's merged trace is written there when the cluster stops. */
  readonly traceFile?: string;
  /** `--step`: replicas hold their messages and tick only on request. */
  readonly step?: boolean;
  readonly out: (line: string) => void;
}

const BIN = fileURLToPath(new URL('../../../../bin/paxos.js', import.meta.url));

export async function runUp(o: UpOptions): Promise<number> {
  ensureNoRunningCluster(o.home);
  // Made (or checked) here, so a read-only or foreign home is one sentence before anything starts.
  ensureHome(o.home);
  ensurePrivateDir(join(o.home, 'logs'));
  const plan = planUp(o.home, {
    ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
    ...(o.protocol !== undefined ? { protocol: o.protocol } : {}),
    fresh: o.fresh,
  });
  if (o.fresh) await freshStart(o);
  if (o.detach) return startDetached(o, plan);
  if (!o.daemon) return exitIfHomeLost(await runOrchestrator(o, plan));
  // The daemon's stdout is its log file, which would grow across every `up`; its lines go through a rotating log of that file instead.
  const log = openRotatingLog({ file: orchestratorLogOf(o.home) });
  let code: number;
  try {
    code = await runOrchestrator({ ...o, out: (line) => log.write(`${line}\n`) }, plan);
  } finally {
    await log.close();
  }
  return exitIfHomeLost(code);
}

/** The exit code of an orchestrator that stopped its cluster because its home was deleted or replaced under it. */
const HOME_LOST_EXIT = 4;

/**
 * An orchestrator whose home was lost may have had to leave its control
 * server open (closing it would unlink what is now another cluster's socket:
 * home-watch.ts), which would keep this process alive; it has nothing left to
 * do, so it exits here, its log closed.
 */
function exitIfHomeLost(code: number): number {
  if (code === HOME_LOST_EXIT) process.exit(code);
  return code;
}

async function runOrchestrator(o: UpOptions, plan: UpPlan): Promise<number> {
  const orchestrator = await Orchestrator.start({
    home: o.home,
    clusterSize: plan.clusterSize,
    protocol: plan.protocol,
    ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
    ...(o.snapshotEverySlots !== undefined ? { snapshotEverySlots: o.snapshotEverySlots } : {}),
    ...(o.traceFile !== undefined ? { traceFile: o.traceFile } : {}),
    ...(o.step === true ? { step: true } : {}),
    // The daemon's log is read with cat and tail; a line quoting a peer's text must not carry control characters into it.
    log: o.daemon ? (line) => o.out(`${new Date().toISOString()} ${showLine(line)}`) : undefined,
  });
  if (o.template?.net) orchestrator.setNet(o.template.net);
  for (const line of orchestrator.notices) o.out(line);
  if (o.traceFile !== undefined) o.out(tracingLine(o.traceFile));
  if (o.step === true) o.out(STEP_LINE);
  const resumed = orchestrator.resumed;
  if (resumed !== null) o.out(resumedLine(orchestrator.status().replicas.length, o.home, resumed.chosen));
  // `on`, not `once`: a second Ctrl-C while the replicas are being stopped must not meet Node's default exit,
  // which would leave the orchestrator's replicas running without it.
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void orchestrator.down().then(resolve, resolve);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
    orchestrator.onDown = resolve;
  });
  if (o.dashboard) {
    const { watchWithDashboard } = await import('./dashboard.js');
    await watchWithDashboard(orchestrator, stopped);
  } else {
    watchPlain(orchestrator, o);
    await stopped;
  }
  await orchestrator.down();
  if (!o.daemon && orchestrator.traceResult !== null) o.out(orchestrator.traceResult);
  if (orchestrator.homeLost === null) return 0;
  // The daemon's log has the sentence already; a terminal shows it as any refusal.
  if (!o.daemon) process.stderr.write(`paxos: ${orchestrator.homeLost}\n`);
  return HOME_LOST_EXIT;
}

function watchPlain(orchestrator: Orchestrator, o: UpOptions): void {
  // The daemon's lines go to its log file; a terminal shows the values to the user who typed them.
  const printer = new PlainEventPrinter({ hideValues: o.daemon });
  const s = orchestrator.status();
  o.out(
    `cluster of ${s.replicas.length} replicas up (${s.protocol} paxos): ${s.replicas.map((r) => `${nodeName(r.id)}@${r.port}`).join(' ')}`,
  );
  o.out('from another terminal: paxos propose x=7 | paxos status | paxos kill node-2 | paxos down');
  orchestrator.subscribe((e) => {
    const line = printer.line(e);
    if (line !== null) o.out(line);
  });
}

const STEP_LINE =
  'step mode: messages between replicas are held and time stands still; drive it with paxos tick, held, deliver and drop';

function tracingLine(file: string): string {
  return `tracing the run into ${partsDirOf(file)}/; \`paxos down\` merges it into ${file}`;
}

/** Deletes the data for `--fresh`, saying what it deleted (replicas of a dead orchestrator still exiting are waited for first). */
async function freshStart(o: UpOptions): Promise<void> {
  const deleted = await deleteData(o.home);
  o.out(deleted === null ? `--fresh: there was no data in ${dataRootOf(o.home)} to delete` : describeDeleted(deleted));
}

/** `resumed 5 replicas from their data in /h/data: 1,204 values chosen`. */
export function resumedLine(replicas: number, home: string, chosen: number): string {
  return `resumed ${replicas} replicas from their data in ${dataRootOf(home)}: ${chosen.toLocaleString('en-US')} ${chosen === 1 ? 'value' : 'values'} chosen`;
}

/**
 * Re-runs `paxos up` as a background daemon and waits until it has written
 * the cluster record. The daemon gets the size and protocol this process
 * settled on, and never --fresh: the data is already deleted here.
 */
async function startDetached(o: UpOptions, plan: UpPlan): Promise<number> {
  ensurePrivateDir(join(o.home, 'logs'));
  const logFd = openPrivateLog(orchestratorLogOf(o.home));
  const args = [BIN, 'up', '--daemon', '-n', String(plan.clusterSize), '--protocol', plan.protocol];
  if (o.basePort !== undefined) args.push('--base-port', String(o.basePort));
  if (o.snapshotEverySlots !== undefined) args.push('--snapshot-every', String(o.snapshotEverySlots));
  if (o.template !== undefined) args.push('--template', o.template.name);
  if (o.traceFile !== undefined) args.push('--trace', o.traceFile);
  if (o.step === true) args.push('--step');
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, PAXOS_HOME: o.home },
  });
  child.unref();
  const deadline = monotonicMs() + 20_000;
  while (monotonicMs() < deadline) {
    const record = readRecord(o.home);
    if (record !== null && record.orchestratorPid === child.pid) {
      for (const line of record.notices ?? []) o.out(line);
      if (record.resumed === true) o.out(resumedLine(record.replicas.length, o.home, record.chosenAtStart ?? 0));
      o.out(
        `cluster of ${record.replicas.length} replicas running in the background (${record.protocol} paxos, orchestrator pid ${record.orchestratorPid})`,
      );
      o.out('watch it with `paxos ui`, inspect with `paxos status`, stop it with `paxos down`');
      if (o.traceFile !== undefined) o.out(tracingLine(o.traceFile));
      if (o.step === true) o.out(STEP_LINE);
      return 0;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // On a full disk the daemon's own sentence could not be written to its log, so the cause is named here.
  if (diskFullAt(o.home))
    throw new OperatingError(
      `the background cluster did not start: the disk holding ${o.home} is full; free some space there and run the command again`,
    );
  throw new OperatingError(`the background cluster did not start: ${lastLine(orchestratorLogOf(o.home))}`);
}
