/**
 * `paxos up`: starts the orchestrator in this process and watches the
 * cluster (the dashboard on a terminal, plain lines otherwise), or starts it
 * in a detached background process and returns.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Orchestrator } from '../../cluster/orchestrator.js';
import { lastLine, orchestratorLogOf } from '../../cluster/home.js';
import { openRotatingLog } from '../../cluster/log-files.js';
import { readRecord } from '../../cluster/record.js';
import type { Protocol } from '../../core/types.js';
import type { ClusterTemplate } from '../../cluster/templates.js';
import { OperatingError } from '../../errors.js';
import { showLine } from '../../text/escape.js';
import { PlainEventPrinter } from '../format.js';
import { ensureNoRunningCluster } from './cluster-guard.js';

export interface UpOptions {
  readonly home: string;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly basePort?: number;
  readonly detach: boolean;
  /** Internal: this process is the detached orchestrator. */
  readonly daemon: boolean;
  readonly dashboard: boolean;
  readonly template?: ClusterTemplate;
  readonly out: (line: string) => void;
}

const BIN = fileURLToPath(new URL('../../../../bin/paxos.js', import.meta.url));

export async function runUp(o: UpOptions): Promise<number> {
  ensureNoRunningCluster(o.home);
  if (o.detach) return startDetached(o);
  if (!o.daemon) return runOrchestrator(o);
  // The daemon's stdout is its log file, which would grow across every `up`; its lines go through a rotating log of that file instead.
  const log = openRotatingLog({ file: orchestratorLogOf(o.home) });
  try {
    return await runOrchestrator({ ...o, out: (line) => log.write(`${line}\n`) });
  } finally {
    await log.close();
  }
}

async function runOrchestrator(o: UpOptions): Promise<number> {
  const orchestrator = await Orchestrator.start({
    home: o.home, clusterSize: o.clusterSize, protocol: o.protocol,
    ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
    // The daemon's log is read with cat and tail; a line quoting a peer's text must not carry control characters into it.
    log: o.daemon ? (line) => o.out(`${new Date().toISOString()} ${showLine(line)}`) : undefined,
  });
  if (o.template?.net) orchestrator.setNet(o.template.net);
  const stopped = new Promise<void>((resolve) => {
    const stop = () => void orchestrator.down().then(resolve, resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
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
  return 0;
}

function watchPlain(orchestrator: Orchestrator, o: UpOptions): void {
  const printer = new PlainEventPrinter();
  const s = orchestrator.status();
  o.out(`cluster of ${s.clusterSize} replicas up (${s.protocol} paxos): ${s.replicas.map((r) => `node-${r.id}@${r.port}`).join(' ')}`);
  o.out('from another terminal: paxos propose x=7 | paxos status | paxos kill node-2 | paxos down');
  orchestrator.subscribe((e) => {
    const line = printer.line(e);
    if (line !== null) o.out(line);
  });
}

/** Re-runs `paxos up` as a background daemon and waits until it has written the cluster record. */
async function startDetached(o: UpOptions): Promise<number> {
  mkdirSync(`${o.home}/logs`, { recursive: true, mode: 0o700 });
  const logFd = openSync(orchestratorLogOf(o.home), 'a');
  const args = [BIN, 'up', '--daemon', '-n', String(o.clusterSize), '--protocol', o.protocol];
  if (o.basePort !== undefined) args.push('--base-port', String(o.basePort));
  if (o.template !== undefined) args.push('--template', o.template.name);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, PAXOS_HOME: o.home } });
  child.unref();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const record = readRecord(o.home);
    if (record !== null && record.orchestratorPid === child.pid) {
      o.out(`cluster of ${record.clusterSize} replicas running in the background (${record.protocol} paxos, orchestrator pid ${record.orchestratorPid})`);
      o.out('watch it with `paxos ui`, inspect with `paxos status`, stop it with `paxos down`');
      return 0;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new OperatingError(`the background cluster did not start: ${lastLine(orchestratorLogOf(o.home))}`);
}
