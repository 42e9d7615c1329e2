/**
 * The orchestrator's replicas as processes: the set of them, each one's
 * spawn (its command line), its exit, the port it asks for again, its
 * registration (control link, event stream, fault rules) and the peer table
 * every replica learns. What is done to them on request (crash, pause,
 * restart) is process-faults.ts; starting and stopping the whole cluster is
 * the orchestrator's.
 */
import { fileURLToPath } from 'node:url';
import type { NodeId, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent, ReplicaEvent } from '../node/events.js';
import type { CoreTuning } from '../node/tuning.js';
import type { FaultRules } from '../transport/faults.js';
import { connectControl } from '../transport/ws-transport.js';
import type { ClusterTrace } from './cluster-trace.js';
import { dataDirOf, describeIds, logFileOf } from './home.js';
import { RotatingLogs } from './log-files.js';
import { type Manifest, votersOf } from './manifest.js';
import { isPortFree } from './ports.js';
import { ReplicaProcess } from './replica-process.js';
import { ReplicaLink } from './replica-rpc.js';

const REPLICA_MAIN = fileURLToPath(new URL('../node/main.js', import.meta.url));

/** The orchestrator's settings a replica's command line is made of. */
export interface SupervisedOptions {
  readonly home: string;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly basePort?: number;
  readonly tickMs?: number;
  readonly snapshotEverySlots?: number;
  readonly step?: boolean;
  readonly coreTuning?: CoreTuning;
}

/** What supervision needs of the orchestrator: its settings and secret, its manifest, trace and rules, and its ways of telling. */
export interface SupervisorHost {
  readonly opts: SupervisedOptions;
  readonly host: string;
  readonly secret: string;
  readonly socketPath: string;
  manifest(): Manifest | null;
  /** The manifest, for what runs only once `start` has written or read it. */
  startedManifest(): Manifest;
  trace(): ClusterTrace | null;
  faults(): FaultRules;
  stopping(): boolean;
  log(line: string): void;
  emit(e: ClusterEvent): void;
  /** A line the user should hear about the start, for `up` to print. */
  notice(line: string): void;
}

export class ReplicaSupervisor {
  readonly replicas = new Map<NodeId, ReplicaProcess>();
  /** Replicas `recover` is starting: their next start sets their lost data aside and recovers. */
  readonly recoverOnNextStart = new Set<NodeId>();
  /** One rotating writer per replica log, kept across restarts so that its size is counted in one place. */
  readonly logs = new RotatingLogs();

  constructor(private readonly h: SupervisorHost) {}

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

  /** Called once the orchestrator is made, before any replica starts; `releaseExitHook` undoes it. */
  armExitHook(): void {
    process.on('exit', this.continuePausedOnExit);
  }

  /** Once every replica has exited, there is no paused one left to continue when this process exits. */
  releaseExitHook(): void {
    process.off('exit', this.continuePausedOnExit);
  }

  addReplica(id: NodeId, port: number, expectData: boolean): ReplicaProcess {
    const r = new ReplicaProcess(
      id,
      port,
      expectData,
      dataDirOf(this.h.opts.home, id),
      logFileOf(this.h.opts.home, id),
      (p, how, killedByUs) => this.onExit(p, how, killedByUs),
    );
    this.replicas.set(id, r);
    return r;
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
  async choosePort(r: ReplicaProcess): Promise<void> {
    if (r.port === 0 || (await isPortFree(this.h.host, r.port))) return;
    if (this.h.opts.basePort !== undefined) {
      throw new OperatingError(
        `${nodeName(r.id)}'s port ${r.port} is in use by another process; free it, or start without --base-port to let the replicas pick free ports`,
      );
    }
    this.h.notice(
      `${nodeName(r.id)}'s port ${r.port} is in use by another process; ${nodeName(r.id)} listens on a new port`,
    );
    r.port = 0;
  }

  spawn(r: ReplicaProcess): void {
    // For profiling replicas (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): Node refuses those in NODE_OPTIONS.
    const nodeArgs = (process.env.PAXOS_REPLICA_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== '');
    const log = this.logs.open(r.logFile);
    const opts = this.h.opts;
    r.spawn(
      [
        ...nodeArgs,
        REPLICA_MAIN,
        '--id',
        String(r.id),
        '--size',
        String(opts.clusterSize),
        '--protocol',
        opts.protocol,
        '--host',
        this.h.host,
        '--port',
        String(r.port),
        '--data',
        r.dataDir,
        '--orchestrator-socket',
        this.h.socketPath,
        '--orchestrator-pid',
        String(process.pid),
        '--tick-ms',
        String(opts.tickMs ?? 10),
        ...(opts.snapshotEverySlots !== undefined ? ['--snapshot-every', String(opts.snapshotEverySlots)] : []),
        '--cluster-id',
        this.h.startedManifest().clusterId,
        ...(r.expectData ? ['--expect-data'] : []),
        ...(this.recoverOnNextStart.has(r.id) ? ['--recover-lost-disk'] : []),
        ...this.contactsArgs(r.id),
        ...(this.h.trace()?.replicaArgs(r.id) ?? []),
        ...(opts.step === true ? ['--step'] : []),
        ...(opts.coreTuning !== undefined ? ['--core-tuning', JSON.stringify(opts.coreTuning)] : []),
      ],
      { PAXOS_SECRET: this.h.secret },
      log,
    );
  }

  /**
   * A replica that joined after the bootstrap starts with an empty log that
   * names no voters: it asks the current voters (as the manifest knows them)
   * for catch-up until its own log names them.
   */
  private contactsArgs(id: NodeId): string[] {
    const manifest = this.h.manifest();
    if (id <= this.h.opts.clusterSize || manifest === null) return [];
    const contacts = votersOf(manifest).filter((v) => v !== id);
    return contacts.length > 0 ? ['--contacts', contacts.join(',')] : [];
  }

  private onExit(r: ReplicaProcess, how: string, killedByUs: boolean): void {
    const stopping = this.h.stopping();
    const reason = killedByUs ? 'killed with SIGKILL' : stopping ? 'stopped' : `exited (${how})`;
    if (!stopping) this.h.trace()?.crashed(r.id);
    this.h.log(`${nodeName(r.id)} ${reason}`);
    this.h.emit({ type: 'replica-down', node: r.id, reason, atMs: Date.now() });
  }

  /** The replica with this id, or a sentence for why there is none (removed, or never one). */
  replica(id: NodeId): ReplicaProcess {
    const r = this.replicas.get(id);
    if (r === undefined) {
      const removed = this.h.manifest()?.replicas.find((m) => m.id === id && m.state === 'removed') !== undefined;
      if (removed) throw new OperatingError(`${nodeName(id)} was removed from this cluster; ids are never reused`);
      throw new OperatingError(
        `there is no ${nodeName(id)}: this cluster has ${describeIds([...this.replicas.keys()])}`,
      );
    }
    return r;
  }

  /** A replica's registration: its control link, its subscription and the fault rules, then every replica's new peer table. */
  async register(id: NodeId, port: number, pid: number): Promise<void> {
    const r = this.replica(id);
    // The port is taken only once a replica of this cluster (it knows the secret) answers there: a registration that fails is neither recorded nor reused by the next `up`.
    const control = new ReplicaLink(
      id,
      await connectControl({ host: this.h.host, port, secret: this.h.secret, timeoutMs: 5000 }).catch((err: Error) => {
        throw new OperatingError(
          `${nodeName(id)} registered port ${port}, where no replica of this cluster answers: ${err.message}`,
        );
      }),
    );
    // A replica asked for port 0 binds whatever the system gives it, which leaves no gap between picking a port and taking it; it tells us which here.
    if (r.port !== 0 && port !== r.port)
      this.h.log(`${nodeName(id)} registered port ${port}, not the ${r.port} it was given`);
    r.port = port;
    control.onEvent((e) => this.onReplicaEvent(r, e as ReplicaEvent));
    r.attach(control, pid);
    await control.request('subscribe', {}, 5000);
    await control.request('faults', { rules: this.h.faults() }, 5000);
    this.broadcastPeers();
    this.h.log(`${nodeName(id)} registered (pid ${pid}, port ${port})`);
    this.h.emit({ type: 'replica-up', node: id, pid, atMs: Date.now() });
  }

  /** Discovery: every replica learns every peer's address from the registry. */
  broadcastPeers(): void {
    const peers: Record<string, { host: string; port: number }> = {};
    for (const r of this.replicas.values()) peers[String(r.id)] = { host: this.h.host, port: r.port };
    for (const r of this.replicas.values()) void r.link?.request('peers', { peers }, 2000).catch(() => undefined);
  }

  private onReplicaEvent(r: ReplicaProcess, e: ReplicaEvent): void {
    if (e.type === 'status') r.lastStatus = e.status;
    this.h.emit(e);
  }
}
