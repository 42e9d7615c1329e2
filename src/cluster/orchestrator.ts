/**
 * The orchestrator: spawns one real Node process per replica, is the registry
 * through which replicas find each other (the 003 article's), holds the
 * network fault rules and hands them to every replica, relays the replicas'
 * event streams to observers, and crashes (SIGKILL), pauses (SIGSTOP), resumes
 * (SIGCONT) and restarts replicas on request. It listens on loopback behind the cluster's secret like everything else.
 */
import { BASIC_NO_MEMBERSHIP } from '../core/basic.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { NodeId, Protocol } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent, ReplicaEvent, ReplicaStatus } from '../node/events.js';
import type { FaultRules } from '../transport/faults.js';
import { connectControl, type ControlClient } from '../transport/ws-transport.js';
import { startWsServer } from '../transport/server.js';
import { dataDirOf, describeIds, lastLine, logFileOf } from './home.js';
import { pipeToRotatingLog, RotatingLogs } from './log-files.js';
import { checkedPorts, isPortFree } from './ports.js';
import { IDENTITY_REFUSED_EXIT, writeIdentity } from '../storage/identity.js';
import {
  deleteData, describeDeleted, liveLockHolder, liveMembers, newManifest, planUp, votersOf, waitForDataRelease, withLearner, withState,
  writeManifest, type Manifest, type MemberState,
} from './manifest.js';
import { ClusterTrace } from './cluster-trace.js';
import { clearRecord, isProcessAlive, writeRecord, type ClusterRecord } from './record.js';
import { OrchestratorRequestSchema, parseOrThrow } from './schemas.js';
import { NOT_STEP_MODE, RELEASED, type HeldMessage, type StepRelease } from '../node/step.js';
import type { CoreTuning } from '../node/tuning.js';

export interface OrchestratorOptions {
  readonly home: string;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly host?: string;
  readonly basePort?: number;
  /** Delete the data in `home` and start empty; without it, data that is there is resumed (and must fit clusterSize and protocol). */
  readonly fresh?: boolean;
  readonly tickMs?: number;
  /** Slots between a replica's snapshots (Multi) or learned keys between log compactions (Basic); the core's default if unset. */
  readonly snapshotEverySlots?: number;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** `paxos up --trace FILE`: every replica records its part of the run, merged into FILE when the cluster stops. */
  readonly traceFile?: string;
  /** `paxos up --step`: every replica holds its messages until they are delivered by hand, and ticks only when asked. */
  readonly step?: boolean;
  /** A live scenario's core settings, passed to every replica (`--core-tuning`); a cluster the user starts has none. */
  readonly coreTuning?: CoreTuning;
}

export interface ReplicaState {
  readonly id: NodeId;
  /** The port it listens on as registered; before its first registration, the port it was asked for (0: any). */
  port: number;
  /**
   * Its data directory holds its data: every start but the very first of a
   * new cluster's replica. Passed on as --expect-data, so a replica whose
   * directory was emptied refuses to start rather than forget its promises.
   */
  expectData: boolean;
  /** The exit code of its last process, null while running or when killed by a signal. */
  lastExitCode: number | null;
  readonly dataDir: string;
  readonly logFile: string;
  pid: number | null;
  up: boolean;
  registered: boolean;
  proc: ResultPromise | null;
  /** Settles once the current process has exited and been reaped; null before the first spawn. */
  exited: Promise<void> | null;
  control: ControlClient | null;
  lastStatus: ReplicaStatus | null;
  killedByUs: boolean;
  /** Stopped with SIGSTOP by `pause` and not yet continued: still up (its process lives), but it runs nothing. */
  paused: boolean;
}

export interface ClusterStatus {
  readonly protocol: Protocol;
  /** The bootstrap size; replicas that joined later have ids beyond it. */
  readonly clusterSize: number;
  /**
   * Every replica the cluster ever had, with its state as the manifest
   * records it (removed ones included: their ids are spent). Optional only
   * so that status objects built elsewhere stay valid.
   */
  readonly members?: readonly { readonly id: NodeId; readonly state: MemberState }[];
  readonly orchestratorPid: number;
  readonly faults: FaultRules;
  /** Started with `paxos up --step`: messages are held and time moves only on request. Absent otherwise. */
  readonly step?: boolean;
  readonly replicas: readonly {
    readonly id: NodeId; readonly port: number; readonly pid: number | null; readonly up: boolean;
    readonly isolated: boolean; readonly status: ReplicaStatus | null;
    /**
     * Stopped by `paxos pause`. This orchestrator always sets it; it is
     * optional only so that status objects built elsewhere (tests, older
     * callers) that predate it stay valid.
     */
    readonly paused?: boolean;
  }[];
}

/** Exited at start-up refusing its data directory (missing, foreign or damaged): it stays down, saying why. */
function refusedItsData(r: ReplicaState): boolean {
  return !r.up && r.lastExitCode === IDENTITY_REFUSED_EXIT;
}

const REPLICA_MAIN = fileURLToPath(new URL('../node/main.js', import.meta.url));
const MAX_CONTROL_FRAME_BYTES = 1024 * 1024;
/**
 * How long `kill` (and a `restart` that finds the replica still exiting)
 * waits for a SIGKILLed replica to be gone. SIGKILL cannot be caught, so the
 * kernel ends the process in milliseconds; five seconds is only ever reached
 * by a process stuck in the kernel (uninterruptible disk I/O), which the
 * user should hear about rather than wait on.
 */
const EXIT_WAIT_MS = 5000;
const POLL_MS = 20;
/** A replica answers a step request at once, or after at most 2 s of settling for a tick. */
const STEP_REQUEST_MS = 5000;

export class Orchestrator {
  private readonly replicas = new Map<NodeId, ReplicaState>();
  private readonly subscribers = new Set<(e: ClusterEvent) => void>();
  private faults: FaultRules = {};
  private server: { port: number; close(): Promise<void> } | null = null;
  private readonly secret = randomBytes(32).toString('base64url');
  private readonly host: string;
  private stopping = false;
  /** One rotating writer per replica log, kept across restarts so that its size is counted in one place. */
  private readonly logs = new RotatingLogs();
  private manifest: Manifest | null = null;
  /** How many values the replicas held when a resumed cluster came up; null for a new cluster. */
  private resumedChosen: number | null = null;
  /** Things the user should hear about the start (data deleted, a port that moved), for `up` to print. */
  readonly notices: string[] = [];
  private trace: ClusterTrace | null = null;
  /** What became of the trace once the cluster stopped, for a foreground `up` to print. */
  traceResult: string | null = null;

  private constructor(private readonly opts: OrchestratorOptions) {
    this.host = opts.host ?? '127.0.0.1';
    if (opts.traceFile !== undefined) this.trace = new ClusterTrace(opts.traceFile, (line) => this.log(line));
    process.on('exit', this.continuePausedOnExit);
  }

  /**
   * A stopped replica receives nothing but SIGKILL and SIGCONT: the SIGTERM
   * that execa's cleanup sends when this process exits would stay pending,
   * and the replica's own watch for a dead orchestrator could never run, so
   * it would be left behind forever. Continuing it lets both act. (Nothing
   * runs if this process is SIGKILLed; `paxos down` is the way to stop.)
   */
  private readonly continuePausedOnExit = (): void => {
    for (const r of this.replicas.values()) if (r.paused) r.proc?.kill('SIGCONT');
  };

  /**
   * Starts the cluster whose data is in `home` (or a new one when there is
   * none, or with `fresh`) and resolves once every replica has registered.
   */
  static async start(opts: OrchestratorOptions): Promise<Orchestrator> {
    const o = new Orchestrator(opts);
    try {
      await o.boot();
      return o;
    } catch (err) {
      await o.down();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const n = this.opts.clusterSize;
    const plan = planUp(this.opts.home, { nodes: n, protocol: this.opts.protocol, fresh: this.opts.fresh === true });
    if (this.opts.fresh === true) {
      const deleted = await deleteData(this.opts.home);
      if (deleted !== null) this.notice(describeDeleted(deleted));
    } else if (plan.resume !== null) {
      // The replicas of an orchestrator that was SIGKILLed leave on their own within a second or two; their locks must be gone first.
      await waitForDataRelease(this.opts.home);
    }
    const manifest = plan.resume ?? this.createCluster(n);
    this.manifest = manifest;
    mkdirSync(`${this.opts.home}/logs`, { recursive: true, mode: 0o700 });
    const fixed = this.opts.basePort !== undefined ? await checkedPorts(this.host, this.opts.basePort, n + 1) : null;
    // Removed replicas stay out: their ids are spent, and they take no part any more.
    for (const m of liveMembers(manifest)) this.addState(m.id, fixed?.[m.id] ?? m.port ?? 0, plan.resume !== null);
    this.server = await startWsServer({
      host: this.host, port: fixed?.[0] ?? 0, secret: this.secret, clusterSize: n, maxFrameBytes: MAX_CONTROL_FRAME_BYTES,
      validate: () => null, onPeerMessage: () => undefined, log: (l) => this.log(l),
      onControl: (conn) => this.acceptControl(conn),
    });
    this.emit({ type: 'cluster', clusterSize: n, protocol: this.opts.protocol, atMs: Date.now() });
    for (const r of this.replicas.values()) {
      await this.choosePort(r);
      this.spawn(r);
    }
    await this.waitForRegistration(this.opts.readyTimeoutMs ?? 15_000);
    if (plan.resume !== null) this.resumedChosen = await this.chosenCount();
    this.saveRecord();
  }

  private addState(id: NodeId, port: number, expectData: boolean): ReplicaState {
    const r: ReplicaState = {
      id, port, expectData, lastExitCode: null,
      dataDir: dataDirOf(this.opts.home, id), logFile: logFileOf(this.opts.home, id),
      pid: null, up: false, registered: false, proc: null, exited: null, control: null, lastStatus: null, killedByUs: false,
      paused: false,
    };
    this.replicas.set(id, r);
    return r;
  }

  /**
   * A new cluster's manifest and its replicas' identities, written before any
   * replica starts: from then on the manifest says these replicas exist, and
   * a replica directory that loses its data is refused, not started empty.
   */
  private createCluster(n: number): Manifest {
    const manifest = newManifest(n, this.opts.protocol);
    mkdirSync(`${this.opts.home}/data`, { recursive: true, mode: 0o700 });
    writeManifest(this.opts.home, manifest);
    for (let id = 1; id <= n; id++) writeIdentity(dataDirOf(this.opts.home, id), { version: 1, clusterId: manifest.clusterId, node: id, incarnation: 0 });
    return manifest;
  }

  /**
   * A replica that had a port asks for it again, so a cluster keeps its
   * addresses across restarts and resumes. When someone else has taken the
   * port meanwhile, the replica gets a new one (and the manifest records it)
   * rather than failing: the old port was an ephemeral one the system handed
   * out, and any outgoing connection may be using it now. Ports fixed with
   * --base-port are the exception: the user chose them, so a taken one is
   * refused in one sentence instead of quietly changed.
   */
  private async choosePort(r: ReplicaState): Promise<void> {
    if (r.port === 0 || (await isPortFree(this.host, r.port))) return;
    if (this.opts.basePort !== undefined) {
      throw new OperatingError(`node-${r.id}'s port ${r.port} is in use by another process; free it, or start without --base-port to let the replicas pick free ports`);
    }
    this.notice(`node-${r.id}'s port ${r.port} is in use by another process; node-${r.id} listens on a new port`);
    r.port = 0;
  }

  private notice(line: string): void {
    this.notices.push(line);
    this.log(line);
  }

  /** The most values any replica knows to be chosen, asked of each replica directly (the published status may not have arrived yet). */
  private async chosenCount(): Promise<number> {
    const counts = await Promise.all([...this.replicas.values()].map(async (r) => {
      const reply = await r.control?.request({ op: 'status' }, 3000).catch(() => null) as { status?: ReplicaStatus } | null | undefined;
      return reply?.status?.view.chosenCount ?? 0;
    }));
    return Math.max(0, ...counts);
  }

  /** Whether this cluster was resumed from its data, and how many values it held then. */
  get resumed(): { readonly chosen: number } | null {
    return this.resumedChosen === null ? null : { chosen: this.resumedChosen };
  }

  get port(): number {
    return this.server!.port;
  }

  // ------------------------------------------------------------ replicas

  private spawn(r: ReplicaState): void {
    r.killedByUs = false;
    r.registered = false;
    r.paused = false;
    // For profiling replicas (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): Node refuses those in NODE_OPTIONS.
    const nodeArgs = (process.env.PAXOS_REPLICA_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== '');
    const log = this.logs.open(r.logFile);
    const proc = execa(process.execPath, [
      ...nodeArgs, REPLICA_MAIN, '--id', String(r.id), '--size', String(this.opts.clusterSize), '--protocol', this.opts.protocol,
      '--host', this.host, '--port', String(r.port), '--data', r.dataDir, '--orchestrator-port', String(this.port),
      '--orchestrator-pid', String(process.pid), '--tick-ms', String(this.opts.tickMs ?? 10),
      ...(this.opts.snapshotEverySlots !== undefined ? ['--snapshot-every', String(this.opts.snapshotEverySlots)] : []), '--cluster-id', this.manifest!.clusterId,
      ...(r.expectData ? ['--expect-data'] : []), ...this.contactsArgs(r.id), ...(this.trace?.replicaArgs(r.id) ?? []),
      ...(this.opts.step === true ? ['--step'] : []),
      ...(this.opts.coreTuning !== undefined ? ['--core-tuning', JSON.stringify(this.opts.coreTuning)] : []),
    ], {
      env: { PAXOS_SECRET: this.secret }, extendEnv: true, stdin: 'ignore',
      // Piped rather than appended to the file, so the log rotates; buffer: false keeps execa from also collecting all of it in memory.
      stdout: 'pipe', stderr: 'pipe', buffer: false,
      reject: false, cleanup: true,
    });
    r.proc = proc;
    r.pid = proc.pid ?? null;
    r.up = true;
    r.lastExitCode = null;
    // From its first start on, the replica's directory holds its identity, and every later start must find it.
    r.expectData = true;
    // With reject: false execa resolves even for a failed spawn; the catch only keeps a surprise from crashing the orchestrator.
    pipeToRotatingLog(proc.stdout, log);
    pipeToRotatingLog(proc.stderr, log);
    // The log is flushed before the exit is handled, so that lastLine() finds the replica's last words in the file.
    r.exited = proc.finally(() => log.flush()).then(
      (result) => {
        if (r.proc === proc) r.lastExitCode = result.exitCode ?? null;
        this.onExit(r, proc, result.signal ?? `exit code ${result.exitCode}`);
      },
      (err: unknown) => this.onExit(r, proc, (err as Error).message),
    );
  }

  /**
   * A replica that joined after the bootstrap starts with an empty log that
   * names no voters: it asks the current voters (as the manifest knows them)
   * for catch-up until its own log names them.
   */
  private contactsArgs(id: NodeId): string[] {
    if (id <= this.opts.clusterSize || this.manifest === null) return [];
    const contacts = votersOf(this.manifest).filter((v) => v !== id);
    return contacts.length > 0 ? ['--contacts', contacts.join(',')] : [];
  }

  private onExit(r: ReplicaState, proc: ResultPromise, how: string): void {
    if (r.proc !== proc) return;
    r.proc = null;
    r.up = false;
    r.paused = false;
    r.registered = false;
    r.control?.close();
    r.control = null;
    const reason = r.killedByUs ? 'killed with SIGKILL' : this.stopping ? 'stopped' : `exited (${how})`;
    if (!this.stopping) this.trace?.crashed(r.id);
    this.log(`node-${r.id} ${reason}`);
    this.emit({ type: 'replica-down', node: r.id, reason, atMs: Date.now() });
  }

  private async waitForRegistration(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // A replica that refused its data directory (missing or damaged) stays down, and the others start without it.
      const missing = [...this.replicas.values()].filter((r) => !r.registered && !refusedItsData(r));
      if (missing.length === 0) return this.startedWithoutRefused();
      const dead = missing.find((r) => !r.up);
      if (dead !== undefined) throw new OperatingError(this.whyNotStarted(dead, 'exited while starting'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const late = [...this.replicas.values()].filter((r) => !r.registered).map((r) => `node-${r.id}`);
    throw new OperatingError(`${late.join(', ')} did not start within ${timeoutMs / 1000}s; see the logs in ${this.opts.home}/logs`);
  }

  /**
   * A damaged minority does not keep the healthy majority from starting:
   * each refused replica's own sentence is a notice, and it stays down. With
   * a majority of the voters refused, nothing could be decided safely, so
   * `up` refuses in one sentence.
   */
  private startedWithoutRefused(): void {
    const refused = [...this.replicas.values()].filter(refusedItsData);
    if (refused.length === 0) return;
    const voters = votersOf(this.manifest!);
    const healthy = voters.filter((id) => this.replicas.get(id)?.registered === true).length;
    const names = describeIds(refused.map((r) => r.id));
    if (healthy < Math.floor(voters.length / 2) + 1) {
      throw new OperatingError(`${names} refused ${refused.length === 1 ? 'its' : 'their'} data (${lastLine(refused[0]!.logFile)}), leaving ${healthy} of ${voters.length} voters, not a majority, so the cluster could decide nothing safely; `
        + 'put back the data directories they had, or start over with `paxos up --fresh`');
    }
    for (const r of refused) this.notice(lastLine(r.logFile));
    this.notice(`started without ${names}, which refused ${refused.length === 1 ? 'its' : 'their'} data; the other ${healthy} of ${voters.length} voters are a majority`);
  }

  /** A replica that refused its data directory said why in one sentence of its own; anything else is quoted after what happened. */
  private whyNotStarted(r: ReplicaState, what: string): string {
    if (r.lastExitCode === IDENTITY_REFUSED_EXIT) return lastLine(r.logFile);
    return `node-${r.id} ${what}: ${lastLine(r.logFile)}`;
  }

  private replica(id: NodeId): ReplicaState {
    const r = this.replicas.get(id);
    if (r === undefined) {
      const removed = this.manifest?.replicas.find((m) => m.id === id && m.state === 'removed') !== undefined;
      if (removed) throw new OperatingError(`node-${id} was removed from this cluster; ids are never reused`);
      throw new OperatingError(`there is no node-${id}: this cluster has ${describeIds([...this.replicas.keys()])}`);
    }
    return r;
  }

  // ------------------------------------------------------------ membership

  /**
   * Starts a new replica as a learner: the next free id (never a reused
   * one), a fresh data directory, the bootstrap size and the current voters
   * as its contacts. The manifest names it before it starts, so its id is
   * spent even if this process dies; it becomes a voter only once the
   * config command naming it is chosen (`markVoter`).
   */
  async addLearner(): Promise<{ node: NodeId; port: number }> {
    if (this.stopping) throw new OperatingError('the cluster is stopping');
    if (this.opts.protocol !== 'multi') throw new OperatingError(BASIC_REFUSAL);
    const { manifest, id } = withLearner(this.manifest!);
    this.setManifest(manifest);
    writeIdentity(dataDirOf(this.opts.home, id), { version: 1, clusterId: manifest.clusterId, node: id, incarnation: 0 });
    const r = this.addState(id, 0, false);
    try {
      this.spawn(r);
      await this.waitRegistered(r, 10_000, 'failed to start as a learner');
    } catch (err) {
      await this.removeReplica(id).catch(() => undefined);
      throw err;
    }
    this.log(`node-${id} started as a learner`);
    this.saveRecord();
    return { node: id, port: r.port };
  }

  /**
   * Stops a replica for good and marks it removed: it leaves the peer table
   * every replica gets, and a later `paxos up` does not start it. Its data
   * directory and log stay, for inspection.
   */
  async removeReplica(id: NodeId): Promise<void> {
    const r = this.replica(id);
    if (r.proc !== null) {
      r.killedByUs = true;
      r.proc.kill('SIGKILL');
      await this.waitUntilGone(r);
    }
    r.control?.close();
    r.control = null;
    this.replicas.delete(id);
    this.setManifest(withState(this.manifest!, id, 'removed'));
    this.broadcastPeers();
    this.log(`node-${id} removed from the cluster`);
    this.emit({ type: 'replica-down', node: id, reason: 'removed from the cluster', atMs: Date.now() });
    this.saveRecord();
  }

  /** Records that a learner's config command was chosen: it votes now. */
  markVoter(id: NodeId): void {
    this.replica(id);
    this.setManifest(withState(this.manifest!, id, 'voter'));
    this.log(`node-${id} is a voter`);
  }

  private setManifest(m: Manifest): void {
    this.manifest = m;
    writeManifest(this.opts.home, m);
  }

  private async waitRegistered(r: ReplicaState, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!r.registered) {
      if (!r.up) throw new OperatingError(this.whyNotStarted(r, what));
      if (Date.now() > deadline) throw new OperatingError(`node-${r.id} did not come up within ${timeoutMs / 1000}s; see ${r.logFile}`);
      await sleep(POLL_MS);
    }
  }

  /** Sends SIGKILL and returns at once; `killAndWait` is the one that answers only once the replica is gone. */
  kill(id: NodeId): void {
    const r = this.replica(id);
    if (!r.up || r.proc === null) throw new OperatingError(`node-${id} is already down`);
    r.killedByUs = true;
    // SIGKILL ends a stopped process too, so a paused replica needs no SIGCONT first; it is no longer paused, only dying.
    r.proc.kill('SIGKILL');
    r.paused = false;
  }

  /**
   * Kills a replica and resolves once its process has exited and its data
   * directory is free, so that a `restart` right after it finds nothing in
   * the way.
   */
  async killAndWait(id: NodeId): Promise<void> {
    this.kill(id);
    await this.waitUntilGone(this.replica(id));
  }

  /**
   * Waits (bounded) until the replica's process has exited and been reaped.
   * Both matter for its data directory: the lock it leaves behind names its
   * pid, and the next replica takes that lock over only once the pid is no
   * longer alive, which a zombie not yet reaped still is.
   */
  private async waitUntilGone(r: ReplicaState): Promise<void> {
    const pid = r.pid;
    const deadline = Date.now() + EXIT_WAIT_MS;
    const timedOut = await raceDeadline(r.exited ?? Promise.resolve(), deadline);
    if (timedOut) throw new OperatingError(`node-${r.id} (pid ${pid}) did not exit within ${EXIT_WAIT_MS / 1000}s of SIGKILL; check it with \`ps -p ${pid}\``);
    while (pid !== null && isProcessAlive(pid)) {
      if (Date.now() > deadline) throw new OperatingError(`node-${r.id} exited but its pid ${pid} is still in use, so its data directory stays locked`);
      await sleep(POLL_MS);
    }
  }

  /**
   * Kills every replica that is up at once (a whole-cluster crash, as after a
   * power cut) and resolves once all of them have exited. Returns the
   * replicas it killed, which is none when all were already down.
   */
  async killAll(): Promise<NodeId[]> {
    const targets = [...this.replicas.values()].filter((r) => r.up && r.proc !== null);
    // Every SIGKILL goes out before any wait, so the replicas die together rather than one after another.
    for (const r of targets) this.kill(r.id);
    await settleAll(targets.map((r) => this.waitUntilGone(r)));
    return targets.map((r) => r.id);
  }

  /**
   * Restarts every replica that is down (or killed and still exiting), all
   * at once, and resolves once each has registered. Returns the replicas it
   * restarted, which is none when all were already up.
   */
  async restartAll(): Promise<NodeId[]> {
    const targets = [...this.replicas.values()].filter((r) => !r.up || (r.killedByUs && r.proc !== null));
    await settleAll(targets.map((r) => this.restart(r.id)));
    return targets.map((r) => r.id);
  }

  async restart(id: NodeId): Promise<void> {
    const r = this.replica(id);
    // A replica we killed whose exit has not been seen yet is not running: wait for it rather than refuse or race its lock.
    if (r.killedByUs && r.proc !== null) await this.waitUntilGone(r);
    if (r.paused) throw new OperatingError(`node-${id} is paused, not down; resume it or kill it first`);
    if (r.up && !r.registered) throw new OperatingError(`node-${id} is already starting; see it come up with \`paxos status\``);
    if (r.up) throw new OperatingError(`node-${id} is running; kill it first`);
    const holder = liveLockHolder(r.dataDir);
    if (holder !== null) throw new OperatingError(`node-${id} cannot restart: its data directory ${r.dataDir} is locked by another live process (pid ${holder})`);
    await this.choosePort(r);
    this.spawn(r);
    const deadline = Date.now() + 10_000;
    while (!r.registered) {
      if (!r.up) throw new OperatingError(this.whyNotStarted(r, 'failed to start from its data'));
      if (Date.now() > deadline) throw new OperatingError(`node-${id} did not come back within 10s; see ${r.logFile}`);
      await sleep(POLL_MS);
    }
    this.saveRecord();
  }

  /**
   * Freezes a running replica with SIGSTOP, Jepsen's pause nemesis: its
   * process, sockets and data stay, but it computes, sends and answers
   * nothing (like a long GC pause or a stalled VM) until `resume`. Peers see
   * only silence, so it tests timeouts rather than connection errors.
   */
  pause(id: NodeId): void {
    const r = this.replica(id);
    if (this.stopping) throw new OperatingError(`node-${id} cannot be paused: the cluster is stopping`);
    if (r.paused) throw new OperatingError(`node-${id} is already paused; resume it with \`paxos resume node-${id}\``);
    // A replica we killed that has not finished exiting counts as down too: there is nothing left to pause.
    if (!r.up || r.proc === null || r.killedByUs) throw new OperatingError(`node-${id} is down; only a running replica can be paused`);
    if (!r.proc.kill('SIGSTOP')) throw new OperatingError(`node-${id} could not be paused: its process is exiting`);
    r.paused = true;
    this.log(`node-${id} paused (SIGSTOP)`);
  }

  /** Lets a paused replica run again with SIGCONT; it carries on from where it stopped, its timers all late. */
  resume(id: NodeId): void {
    const r = this.replica(id);
    if (!r.paused) throw new OperatingError(`node-${id} is not paused`);
    this.continueReplica(r);
  }

  /** Resumes every paused replica and returns which they were (none is not an error: there is nothing to undo). */
  resumeAll(): NodeId[] {
    const paused = [...this.replicas.values()].filter((r) => r.paused);
    for (const r of paused) this.continueReplica(r);
    return paused.map((r) => r.id);
  }

  private continueReplica(r: ReplicaState): void {
    r.proc?.kill('SIGCONT');
    r.paused = false;
    this.log(`node-${r.id} resumed (SIGCONT)`);
  }

  // ---------------------------------------------------------------- faults

  partition(groups: readonly (readonly NodeId[])[]): void {
    const seen = new Set<NodeId>();
    for (const g of groups) for (const id of g) {
      this.replica(id);
      if (seen.has(id)) throw new OperatingError(`node-${id} appears in two groups`);
      seen.add(id);
    }
    const rest = [...this.replicas.keys()].filter((id) => !seen.has(id));
    this.setFaults({ ...this.faults, partition: [...groups.map((g) => [...g]), ...(rest.length > 0 ? [rest] : [])] });
  }

  isolate(id: NodeId): void {
    this.replica(id);
    this.partition([[id]]);
  }

  heal(): void {
    const { partition: _cut, ...rest } = this.faults;
    this.setFaults(rest);
  }

  setNet(net: { delayMs?: { min: number; max: number } | null; dropRate?: number }): void {
    const next: { partition?: number[][]; delayMs?: { min: number; max: number }; dropRate?: number } = {};
    if (this.faults.partition) next.partition = this.faults.partition.map((g) => [...g]);
    const delay = net.delayMs === undefined ? this.faults.delayMs : net.delayMs;
    if (delay) next.delayMs = delay;
    const drop = net.dropRate ?? this.faults.dropRate;
    if (drop) next.dropRate = drop;
    this.setFaults(next);
  }

  private setFaults(rules: FaultRules): void {
    this.trace?.faultsChanged(this.faults, rules);
    this.faults = rules;
    for (const r of this.replicas.values()) void r.control?.request({ op: 'faults', rules }, 2000).catch(() => undefined);
    this.emit({
      type: 'faults', partition: rules.partition ?? null, delayMs: rules.delayMs ?? null, dropRate: rules.dropRate ?? 0, atMs: Date.now(),
    });
  }

  // ------------------------------------------------------------ step mode

  private stepReplicas(): ReplicaState[] {
    if (this.opts.step !== true) throw new OperatingError(NOT_STEP_MODE);
    return [...this.replicas.values()].filter((r) => r.up && r.registered && r.control !== null && !r.paused);
  }

  /** Every running replica's held messages, merged: by holder, then in the order each held them. Public for the dashboard of `paxos up --step`. */
  async held(): Promise<{ messages: HeldMessage[]; total: number; droppedFull: number; down: NodeId[] }> {
    const up = this.stepReplicas();
    const answers = await Promise.all(up.map((r) => r.control!.request({ op: 'held' }, STEP_REQUEST_MS) as Promise<{ messages: HeldMessage[]; total: number; droppedFull: number }>));
    return {
      messages: answers.flatMap((a) => a.messages),
      total: answers.reduce((n, a) => n + a.total, 0),
      droppedFull: answers.reduce((n, a) => n + a.droppedFull, 0),
      down: [...this.replicas.values()].filter((r) => !up.includes(r)).map((r) => r.id),
    };
  }

  /**
   * Delivers, drops or duplicates held messages. An id names its holder (`2:5` is held
   * by node-2), so each goes to that replica alone; `all` goes to every
   * running replica. An id no replica holds (delivered already, or its
   * holder was killed) is refused in one sentence, and nothing is done.
   */
  async release(op: StepRelease, ids: readonly string[] | 'all'): Promise<{ done: HeldMessage[] }> {
    const up = this.stepReplicas();
    if (ids !== 'all') {
      const byNode = new Map<NodeId, string[]>();
      for (const id of ids) {
        const node = Number(id.split(':')[0]);
        const r = this.replicas.get(node);
        if (r === undefined) throw new OperatingError(`there is no held message ${id}: no node-${node} in this cluster`);
        if (!up.includes(r)) throw new OperatingError(`node-${node} is ${r.paused ? 'paused' : 'down'}, so it cannot ${op} ${id}${r.paused ? '' : ' (a killed replica\'s held messages die with it)'}`);
        byNode.set(node, [...(byNode.get(node) ?? []), id]);
      }
      // Each holder takes its ids all or none, so a typo leaves that replica's other messages held rather than half handled.
      const answers = await Promise.all([...byNode].map(([node, mine]) => this.replicas.get(node)!.control!.request({ op, ids: mine }, STEP_REQUEST_MS) as Promise<{ done: HeldMessage[]; missing: string[] }>));
      const missing = answers.flatMap((a) => a.missing);
      const done = answers.flatMap((a) => a.done);
      if (missing.length > 0) {
        const did = done.length > 0 ? `; ${RELEASED[op]} ${done.map((m) => m.id).join(', ')} all the same` : '';
        throw new OperatingError(`no replica holds ${missing.join(', ')} (see paxos held)${did}`);
      }
      return { done: answers.flatMap((a) => a.done) };
    }
    const answers = await Promise.all(up.map((r) => r.control!.request({ op, ids: 'all' }, STEP_REQUEST_MS) as Promise<{ done: HeldMessage[] }>));
    return { done: answers.flatMap((a) => a.done) };
  }

  /** A note in the run's trace, when it is traced (a live scenario's narration); nothing otherwise. */
  traceNote(text: string): void {
    this.trace?.note(text);
  }

  /**
   * One step-mode request to one running replica, for a live scenario, which
   * reads each replica's journal and state, injects messages whose sender
   * died and sends its clients' commands. Refused when the cluster is not in step mode or the replica is not running.
   */
  async stepRequest(node: NodeId, req: { readonly op: string } & Record<string, unknown>, timeoutMs = STEP_REQUEST_MS): Promise<unknown> {
    const r = this.replica(node);
    if (!this.stepReplicas().includes(r)) throw new OperatingError(`node-${node} is ${r.paused ? 'paused' : 'down'}`);
    return r.control!.request(req, timeoutMs);
  }

  /** Advances one replica's time, or every running replica's, by `count` ticks; answers once the ticks' messages are held. */
  async tick(node: NodeId | 'all', count: number): Promise<{ ticks: { node: NodeId; ticks: number; newlyHeld: number; held: number }[] }> {
    const up = this.stepReplicas();
    let targets = up;
    if (node !== 'all') {
      const r = this.replica(node);
      if (!up.includes(r)) throw new OperatingError(`node-${node} is ${r.paused ? 'paused' : 'down'}; only a running replica can tick`);
      targets = [r];
    }
    const answers = await Promise.all(targets.map(async (r) => ({
      node: r.id, ...(await r.control!.request({ op: 'tick', count }, STEP_REQUEST_MS) as { ticks: number; newlyHeld: number; held: number }),
    })));
    return { ticks: answers };
  }

  // ------------------------------------------------------------- registry

  private acceptControl(conn: ControlConnectionLike): void {
    const unsubscribe: (() => void)[] = [];
    conn.onRequest((req) => this.onControlRequest(req as Record<string, unknown>, conn, unsubscribe));
    conn.onClose?.(() => { for (const u of unsubscribe) u(); });
  }

  private async onControlRequest(raw: Record<string, unknown>, conn: ControlConnectionLike, cleanups: (() => void)[]): Promise<unknown> {
    const req = parseOrThrow(OrchestratorRequestSchema, raw, 'the request', (sentence) => new OperatingError(sentence));
    switch (req.op) {
      case 'register':
        await this.onRegister(req.node, req.port, req.pid);
        return { ok: true };
      case 'status':
        return { cluster: this.status() };
      case 'subscribe':
        cleanups.push(this.subscribe((e) => conn.push(e)));
        return { ok: true, cluster: this.status() };
      case 'kill':
        await this.killAndWait(req.node);
        return { ok: true };
      case 'restart':
        await this.restart(req.node);
        return { ok: true };
      case 'kill-all':
        return { ok: true, nodes: await this.killAll() };
      case 'restart-all':
        return { ok: true, nodes: await this.restartAll() };
      case 'pause':
        this.pause(req.node);
        return { ok: true };
      case 'resume':
        this.resume(req.node);
        return { ok: true };
      case 'resume-all':
        return { ok: true, nodes: this.resumeAll() };
      case 'partition':
        this.partition(req.groups);
        return { ok: true, faults: this.faults };
      case 'isolate':
        this.isolate(req.node);
        return { ok: true, faults: this.faults };
      case 'heal':
        this.heal();
        return { ok: true, faults: this.faults };
      case 'net':
        this.setNet(req);
        return { ok: true, faults: this.faults };
      case 'add-learner':
        return { ok: true, ...(await this.addLearner()) };
      case 'remove-replica':
        await this.removeReplica(req.node);
        return { ok: true };
      case 'mark-voter':
        this.markVoter(req.node);
        return { ok: true };
      case 'held':
        return this.held();
      case 'deliver':
      case 'drop':
      case 'duplicate':
        return this.release(req.op, req.ids ?? 'all');
      case 'tick':
        return this.tick(req.node ?? 'all', req.count);
      case 'down':
        setImmediate(() => void this.down().then(() => this.onDown?.()));
        return { ok: true };
    }
  }

  /** Set by whoever runs the orchestrator, to leave when `paxos down` asks it to. */
  onDown: (() => void) | null = null;

  private async onRegister(id: NodeId, port: number, pid: number): Promise<void> {
    const r = this.replica(id);
    // A replica asked for port 0 binds whatever the system gives it, which leaves no gap between picking a port and taking it; it tells us which here.
    if (r.port !== 0 && port !== r.port) this.log(`node-${id} registered port ${port}, not the ${r.port} it was given`);
    r.port = port;
    const control = await connectControl({ host: this.host, port, secret: this.secret, timeoutMs: 5000 });
    control.onEvent((e) => this.onReplicaEvent(r, e as ReplicaEvent));
    r.control?.close();
    r.control = control;
    r.pid = pid;
    r.registered = true;
    await control.request({ op: 'subscribe' }, 5000);
    await control.request({ op: 'faults', rules: this.faults }, 5000);
    this.broadcastPeers();
    this.log(`node-${id} registered (pid ${pid}, port ${port})`);
    this.emit({ type: 'replica-up', node: id, pid, atMs: Date.now() });
  }

  /** Discovery: every replica learns every peer's address from the registry. */
  private broadcastPeers(): void {
    const peers: Record<string, { host: string; port: number }> = {};
    for (const r of this.replicas.values()) peers[String(r.id)] = { host: this.host, port: r.port };
    for (const r of this.replicas.values()) void r.control?.request({ op: 'peers', peers }, 2000).catch(() => undefined);
  }

  private onReplicaEvent(r: ReplicaState, e: ReplicaEvent): void {
    if (e.type === 'status') r.lastStatus = e.status;
    this.emit(e);
  }

  // ------------------------------------------------------------ observers

  subscribe(listener: (e: ClusterEvent) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  private emit(e: ClusterEvent): void {
    for (const s of this.subscribers) s(e);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  status(): ClusterStatus {
    return {
      protocol: this.opts.protocol, clusterSize: this.opts.clusterSize, orchestratorPid: process.pid, faults: this.faults,
      ...(this.opts.step === true ? { step: true } : {}),
      ...(this.manifest !== null ? { members: this.manifest.replicas.map((m) => ({ id: m.id, state: m.state })) } : {}),
      replicas: [...this.replicas.values()].map((r) => ({
        id: r.id, port: r.port, pid: r.up ? r.pid : null, up: r.up, isolated: isIsolated(this.faults, r.id), status: r.up ? r.lastStatus : null,
        paused: r.paused,
      })),
    };
  }

  record(): ClusterRecord {
    return {
      version: 1, protocol: this.opts.protocol, clusterSize: this.opts.clusterSize, host: this.host, secret: this.secret,
      orchestratorPid: process.pid, orchestratorPort: this.port, startedAtMs: Date.now(),
      ...(this.manifest !== null ? { clusterId: this.manifest.clusterId } : {}),
      resumed: this.resumedChosen !== null, ...(this.resumedChosen !== null ? { chosenAtStart: this.resumedChosen } : {}),
      ...(this.notices.length > 0 ? { notices: [...this.notices] } : {}),
      ...(this.opts.traceFile !== undefined ? { traceFile: this.opts.traceFile } : {}),
      ...(this.opts.step === true ? { step: true } : {}),
      replicas: [...this.replicas.values()].map((r) => ({ id: r.id, port: r.port, dataDir: r.dataDir, logFile: r.logFile, pid: r.pid })),
    };
  }

  /** The cluster record for other commands, and the manifest with the ports the replicas listen on now, for the next `up`. */
  private saveRecord(): void {
    writeRecord(this.record(), this.opts.home);
    const manifest = this.manifest;
    if (manifest === null) return;
    const replicas = manifest.replicas.map((m) => ({ ...m, port: this.replicas.get(m.id)?.port || m.port }));
    if (replicas.every((m, i) => m.port === manifest.replicas[i]!.port)) return;
    this.setManifest({ ...manifest, replicas });
  }

  /** Stops every replica (SIGTERM, then SIGKILL after a grace period) and forgets the cluster. */
  async down(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const procs = [...this.replicas.values()].map((r) => r.proc).filter((p): p is ResultPromise => p !== null);
    for (const p of procs) p.kill('SIGTERM');
    // A stopped process holds a SIGTERM pending until it is continued, so a paused replica would only die at the grace SIGKILL, without closing its storage cleanly.
    this.resumeAll();
    const grace = setTimeout(() => { for (const p of procs) p.kill('SIGKILL'); }, 3000);
    await Promise.allSettled(procs);
    clearTimeout(grace);
    process.off('exit', this.continuePausedOnExit);
    for (const r of this.replicas.values()) r.control?.close();
    await this.server?.close();
    // After every replica has exited: their parts are complete, as far as their buffers reached the disk.
    if (this.trace !== null) this.traceResult = this.trace.finish();
    this.trace = null;
    await this.logs.closeAll();
    clearRecord(this.opts.home);
  }
}

interface ControlConnectionLike {
  onRequest(handler: (req: unknown) => Promise<unknown> | unknown): void;
  push(event: unknown): void;
  onClose?(handler: () => void): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for every promise, then throws the first failure, if any. Unlike
 * Promise.all it never returns while some of the work is still running, so
 * a failed `killAll` or `restartAll` leaves no replica half-handled.
 */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Waits for `promise` until `deadline` (epoch ms); true if the deadline came first. */
async function raceDeadline(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now())); });
  try {
    return await Promise.race([promise.then(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The sentence every membership command gives on a Basic Paxos cluster. */
export const BASIC_REFUSAL = BASIC_NO_MEMBERSHIP;

export function isIsolated(faults: FaultRules, id: NodeId): boolean {
  const groups = faults.partition;
  if (groups === undefined) return false;
  const mine = groups.find((g) => g.includes(id));
  return mine === undefined || mine.length === 1;
}
