/**
 * The orchestrator: the one object a cluster's commands talk to. It starts a
 * cluster (new, or resumed from its data) and stops it, holds the state its
 * parts share (manifest, secret, trace, whether it is stopping), relays the
 * replicas' event streams to observers and keeps the cluster record; each
 * command it answers is passed to the part whose job it is, each in its own
 * file: one replica's process and its phase (replica-process.ts), the
 * replicas' spawning, exits and registration (replica-supervisor.ts),
 * crashes (SIGKILL), pauses (SIGSTOP), resumes (SIGCONT) and restarts on
 * request (process-faults.ts), the network fault rules (network-faults.ts),
 * a new cluster's data and the checks of a start (cluster-start.ts), the
 * status and record it gives (cluster-report.ts), the control server where
 * replicas register and commands ask (registry.ts), step mode's relay of
 * held messages (step-relay.ts), membership administration
 * (membership-admin.ts), and the typed requests and replies in between
 * (replica-rpc.ts, orchestrator-rpc.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { ResultPromise } from 'execa';
import { must } from '../core/must.js';
import type { NodeId, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { ClusterEvent } from '../node/events.js';
import type { HeldMessage, StepRelease } from '../node/step.js';
import type { CoreTuning } from '../node/tuning.js';
import { type FaultRules, isIsolated } from '../transport/faults.js';
import { type ClusterView, clusterRecord, clusterStatus } from './cluster-report.js';
import { chosenCount, createCluster, refusedItsData, startedWithoutRefused } from './cluster-start.js';
import { ClusterTrace } from './cluster-trace.js';
import { clearStaleSocket, controlSocketOf } from './control-socket.js';
import { HomeWatch } from './home-watch.js';
import {
  deleteData,
  describeDeleted,
  liveMembers,
  type Manifest,
  planUp,
  waitForDataRelease,
  writeManifest,
} from './manifest.js';
import { MembershipAdmin } from './membership-admin.js';
import { NetworkFaults } from './network-faults.js';
import type { ClusterStatus } from './orchestrator-rpc.js';
import { checkedPorts } from './ports.js';
import { ProcessFaults } from './process-faults.js';
import { type ClusterRecord, clearRecord, writeRecord } from './record.js';
import { controlHandlers, startRegistry } from './registry.js';
import { type ReplicaProcess, waitForRegistration } from './replica-process.js';
import { ReplicaSupervisor } from './replica-supervisor.js';
import { STEP_REQUEST_MS, StepRelay } from './step-relay.js';

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

export type { ClusterStatus } from './orchestrator-rpc.js';

export class Orchestrator {
  private readonly supervisor: ReplicaSupervisor;
  private readonly replicas: ReadonlyMap<NodeId, ReplicaProcess>;
  private readonly subscribers = new Set<(e: ClusterEvent) => void>();
  private server: { close(): Promise<void> } | null = null;
  private readonly secret = randomBytes(32).toString('base64url');
  private readonly host: string;
  private stopping = false;
  private manifest: Manifest | null = null;
  /** How many values the replicas held when a resumed cluster came up; null for a new cluster. */
  private resumedChosen: number | null = null;
  /** Things the user should hear about the start (data deleted, a port that moved), for `up` to print. */
  readonly notices: string[] = [];
  private trace: ClusterTrace | null = null;
  /** What became of the trace once the cluster stopped, for a foreground `up` to print. */
  traceResult: string | null = null;
  /** Stops the cluster, as `down` does, if its home is deleted or replaced under it (home-watch.ts). */
  private homeWatch: HomeWatch | null = null;

  private readonly stepRelay: StepRelay;
  private readonly membership: MembershipAdmin;
  private readonly network: NetworkFaults;
  private readonly crashes: ProcessFaults;

  private constructor(private readonly opts: OrchestratorOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.supervisor = new ReplicaSupervisor({
      opts,
      host: this.host,
      secret: this.secret,
      socketPath: this.socketPath,
      manifest: () => this.manifest,
      startedManifest: () => this.startedManifest(),
      trace: () => this.trace,
      faults: () => this.faults,
      stopping: () => this.stopping,
      log: (line) => this.log(line),
      emit: (e) => this.emit(e),
      notice: (line) => this.notice(line),
    });
    this.replicas = this.supervisor.replicas;
    this.stepRelay = new StepRelay(opts.step === true, this.replicas, (id) => this.replica(id));
    this.membership = new MembershipAdmin({
      home: opts.home,
      protocol: opts.protocol,
      stopping: () => this.stopping,
      manifest: () => this.startedManifest(),
      setManifest: (m) => this.setManifest(m),
      replica: (id) => this.replica(id),
      addReplica: (id, port, expectData) => this.supervisor.addReplica(id, port, expectData),
      spawn: (r) => this.supervisor.spawn(r),
      forget: (id) => this.supervisor.replicas.delete(id),
      broadcastPeers: () => this.supervisor.broadcastPeers(),
      log: (line) => this.log(line),
      emit: (e) => this.emit(e),
      saveRecord: () => this.saveRecord(),
    });
    this.network = new NetworkFaults({
      replicas: this.replicas,
      replica: (id) => this.replica(id),
      trace: () => this.trace,
      emit: (e) => this.emit(e),
    });
    this.crashes = new ProcessFaults({
      protocol: opts.protocol,
      supervisor: this.supervisor,
      stopping: () => this.stopping,
      saveRecord: () => this.saveRecord(),
      log: (line) => this.log(line),
    });
    if (opts.traceFile !== undefined) this.trace = new ClusterTrace(opts.traceFile, (line) => this.log(line));
    this.supervisor.armExitHook();
  }

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
    const manifest = plan.resume ?? createCluster({ home: this.opts.home, n, protocol: this.opts.protocol });
    this.manifest = manifest;
    mkdirSync(`${this.opts.home}/logs`, { recursive: true, mode: 0o700 });
    // node-N listens on base + N; base itself was the orchestrator's before its control plane moved to a unix socket.
    const fixed = this.opts.basePort !== undefined ? await checkedPorts(this.host, this.opts.basePort + 1, n) : null;
    // Removed replicas stay out: their ids are spent, and they take no part any more.
    for (const m of liveMembers(manifest))
      this.supervisor.addReplica(m.id, fixed?.[m.id - 1] ?? m.port ?? 0, plan.resume !== null);
    await clearStaleSocket(this.socketPath);
    this.server = await startRegistry({
      socketPath: this.socketPath,
      secret: this.secret,
      clusterSize: n,
      log: (l) => this.log(l),
      handlers: controlHandlers(this),
    });
    this.emit({ type: 'cluster', clusterSize: n, protocol: this.opts.protocol, atMs: Date.now() });
    for (const r of this.replicas.values()) {
      await this.supervisor.choosePort(r);
      this.supervisor.spawn(r);
    }
    const timeoutMs = this.opts.readyTimeoutMs ?? 15_000;
    // A replica that refused its data directory (missing or damaged) stays down, and the others start without it.
    await waitForRegistration(
      [...this.replicas.values()],
      timeoutMs,
      'exited while starting',
      (late) =>
        `${late.map((r) => nodeName(r.id)).join(', ')} did not start within ${timeoutMs / 1000}s; see the logs in ${this.opts.home}/logs`,
      refusedItsData,
    );
    startedWithoutRefused({ replicas: this.replicas, manifest: this.manifest, notice: (line) => this.notice(line) });
    if (plan.resume !== null) this.resumedChosen = await chosenCount(this.replicas);
    this.saveRecord();
    const onLost = (sentence: string) => {
      this.log(sentence);
      this.stopSoon();
    };
    this.homeWatch = HomeWatch.start({
      home: this.opts.home,
      socketPath: this.socketPath,
      clusterId: manifest.clusterId,
      onLost,
    });
  }

  /** Why the cluster stopped on its own, its home lost; null otherwise. The files there may be another cluster's now, so none is touched. */
  get homeLost(): string | null {
    return this.homeWatch?.lost ?? null;
  }

  private notice(line: string): void {
    this.notices.push(line);
    this.log(line);
  }

  /** Whether this cluster was resumed from its data, and how many values it held then. */
  get resumed(): { readonly chosen: number } | null {
    return this.resumedChosen === null ? null : { chosen: this.resumedChosen };
  }

  /** The control plane's unix socket (control-socket.ts). */
  get socketPath(): string {
    return controlSocketOf(this.opts.home);
  }

  // ------------------------------------------------------------ replicas

  /** The replica with this id, or a sentence for why there is none (replica-supervisor.ts). */
  private replica(id: NodeId): ReplicaProcess {
    return this.supervisor.replica(id);
  }

  // ------------------------------------------------------------ membership

  /** Starts a new replica as a learner (see `MembershipAdmin.addLearner`). */
  addLearner(): Promise<{ node: NodeId; port: number }> {
    return this.membership.addLearner();
  }

  /** Stops a replica for good and marks it removed (see `MembershipAdmin.removeReplica`). */
  removeReplica(id: NodeId): Promise<void> {
    return this.membership.removeReplica(id);
  }

  /** Records that a learner's config command was chosen: it votes now. */
  markVoter(id: NodeId): void {
    this.membership.markVoter(id);
  }

  /** The manifest, for what runs only once `start` has written or read it (spawning, membership changes). */
  private startedManifest(): Manifest {
    return must(this.manifest, 'the manifest is set before any replica starts');
  }

  private setManifest(m: Manifest): void {
    this.manifest = m;
    writeManifest(this.opts.home, m);
  }

  // ------------------------------------------------------ crash and pause

  /** Sends SIGKILL and returns at once (process-faults.ts); `killAndWait` answers only once the replica is gone. */
  kill(id: NodeId): void {
    this.crashes.kill(id);
  }

  killAndWait(id: NodeId): Promise<void> {
    return this.crashes.killAndWait(id);
  }

  killAll(): Promise<NodeId[]> {
    return this.crashes.killAll();
  }

  restartAll(): Promise<NodeId[]> {
    return this.crashes.restartAll();
  }

  recover(id: NodeId): Promise<void> {
    return this.crashes.recover(id);
  }

  restart(id: NodeId): Promise<void> {
    return this.crashes.restart(id);
  }

  pause(id: NodeId): void {
    this.crashes.pause(id);
  }

  resume(id: NodeId): void {
    this.crashes.resume(id);
  }

  resumeAll(): NodeId[] {
    return this.crashes.resumeAll();
  }

  // ---------------------------------------------------------------- faults

  /** The network fault rules in force, as every replica has been told them (network-faults.ts). */
  get faults(): FaultRules {
    return this.network.faults;
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
  }

  isolate(id: NodeId): void {
    this.network.isolate(id);
  }

  heal(): void {
    this.network.heal();
  }

  setNet(net: { delayMs?: { min: number; max: number } | null; dropRate?: number }): void {
    this.network.setNet(net);
  }

  // ------------------------------------------------------------ step mode

  /** Every running replica's held messages, merged: by holder, then in the order each held them. Public for the dashboard of `paxos up --step`. */
  held(): Promise<{ messages: HeldMessage[]; total: number; droppedFull: number; down: NodeId[] }> {
    return this.stepRelay.held();
  }

  /** Delivers, drops or duplicates held messages (see `StepRelay.release`). */
  release(op: StepRelease, ids: readonly string[] | 'all'): Promise<{ done: HeldMessage[] }> {
    return this.stepRelay.release(op, ids);
  }

  /** A note in the run's trace, when it is traced (a live scenario's narration); nothing otherwise. */
  traceNote(text: string): void {
    this.trace?.note(text);
  }

  /** One step-mode request to one running replica, for a live scenario (see `StepRelay.forward`). */
  stepRequest(
    node: NodeId,
    req: { readonly op: string } & Record<string, unknown>,
    timeoutMs = STEP_REQUEST_MS,
  ): Promise<unknown> {
    return this.stepRelay.forward(node, req, timeoutMs);
  }

  /** Advances one replica's time, or every running replica's, by `count` ticks; answers once the ticks' messages are held. */
  tick(
    node: NodeId | 'all',
    count: number,
  ): Promise<{ ticks: { node: NodeId; ticks: number; newlyHeld: number; held: number }[] }> {
    return this.stepRelay.tick(node, count);
  }

  // ------------------------------------------------------------- registry

  /** Set by whoever runs the orchestrator, to leave when `paxos down` asks it to. */
  onDown: (() => void) | null = null;

  /** `paxos down` from the control API: answered first, then the cluster stops and `onDown` is told. */
  stopSoon(): void {
    setImmediate(() => void this.down().then(() => this.onDown?.()));
  }

  /** A replica's registration (see `ReplicaSupervisor.register`). */
  register(id: NodeId, port: number, pid: number): Promise<void> {
    return this.supervisor.register(id, port, pid);
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

  // ------------------------------------------------- status and record

  /** What the status and the record are made of (cluster-report.ts). */
  private view(): ClusterView {
    return {
      protocol: this.opts.protocol,
      clusterSize: this.opts.clusterSize,
      step: this.opts.step === true,
      traceFile: this.opts.traceFile,
      host: this.host,
      secret: this.secret,
      socketPath: this.socketPath,
      manifest: this.manifest,
      resumedChosen: this.resumedChosen,
      notices: this.notices,
      faults: this.faults,
      replicas: this.replicas,
    };
  }

  status(): ClusterStatus {
    return clusterStatus(this.view());
  }

  record(): ClusterRecord {
    return clusterRecord(this.view());
  }

  /** The cluster record for other commands, and the manifest with the ports the replicas listen on now, for the next `up`. */
  private saveRecord(): void {
    writeRecord(this.record(), this.opts.home);
    const manifest = this.manifest;
    if (manifest === null) return;
    const replicas = manifest.replicas.map((m) => ({ ...m, port: this.replicas.get(m.id)?.port || m.port }));
    if (replicas.every((m, i) => m.port === manifest.replicas[i].port)) return;
    this.setManifest({ ...manifest, replicas });
  }

  /** Stops every replica (SIGTERM, then SIGKILL after a grace period) and forgets the cluster. */
  async down(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.homeWatch?.stop();
    const procs = [...this.replicas.values()].map((r) => r.proc).filter((p): p is ResultPromise => p !== null);
    for (const p of procs) p.kill('SIGTERM');
    // A stopped process holds a SIGTERM pending until it is continued, so a paused replica would only die at the grace SIGKILL, without closing its storage cleanly.
    this.resumeAll();
    const grace = setTimeout(() => {
      for (const p of procs) p.kill('SIGKILL');
    }, 3000);
    await Promise.allSettled(procs);
    clearTimeout(grace);
    this.supervisor.releaseExitHook();
    for (const r of this.replicas.values()) r.link?.close();
    if (this.homeWatch?.mayCloseSocket() !== false) await this.server?.close();
    // After every replica has exited: their parts are complete, as far as their buffers reached the disk.
    if (this.trace !== null) this.traceResult = this.trace.finish();
    this.trace = null;
    await this.supervisor.logs.closeAll();
    if (this.homeLost === null) clearRecord(this.opts.home);
  }
}

export { BASIC_REFUSAL } from './membership-admin.js';

export { isIsolated };
