/**
 * What the orchestrator does to one replica's process, or to all of them, on
 * request (`paxos kill`, `restart`, `recover`, `pause`, `resume` and their
 * `--all` forms): crashes with SIGKILL, restarts from the replica's data,
 * freezes with SIGSTOP and continues with SIGCONT. The network's faults are
 * network-faults.ts; these are the process's, and each checks the replica's
 * phase first so that a command that cannot apply says why in one sentence.
 */
import type { NodeId, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import { liveLockHolder } from './manifest.js';
import { type ReplicaProcess, waitForRegistration } from './replica-process.js';
import type { ReplicaSupervisor } from './replica-supervisor.js';

/** What the process faults need of the orchestrator: its replicas, its state, and its ways of telling. */
export interface ProcessFaultsHost {
  readonly protocol: Protocol;
  readonly supervisor: ReplicaSupervisor;
  stopping(): boolean;
  saveRecord(): void;
  log(line: string): void;
}

export class ProcessFaults {
  constructor(private readonly host: ProcessFaultsHost) {}

  private replica(id: NodeId): ReplicaProcess {
    return this.host.supervisor.replica(id);
  }

  private get replicas(): ReadonlyMap<NodeId, ReplicaProcess> {
    return this.host.supervisor.replicas;
  }

  /** Sends SIGKILL and returns at once; `killAndWait` is the one that answers only once the replica is gone. */
  kill(id: NodeId): void {
    this.replica(id).kill();
  }

  /**
   * Kills a replica and resolves once its process has exited and its data
   * directory is free, so that a `restart` right after it finds nothing in
   * the way.
   */
  async killAndWait(id: NodeId): Promise<void> {
    this.kill(id);
    await this.replica(id).waitUntilGone();
  }

  /**
   * Kills every replica that is up at once (a whole-cluster crash, as after a
   * power cut) and resolves once all of them have exited. Returns the
   * replicas it killed, which is none when all were already down.
   */
  async killAll(): Promise<NodeId[]> {
    const targets = [...this.replicas.values()].filter((r) => r.up);
    // Every SIGKILL goes out before any wait, so the replicas die together rather than one after another.
    for (const r of targets) this.kill(r.id);
    await settleAll(targets.map((r) => r.waitUntilGone()));
    return targets.map((r) => r.id);
  }

  /**
   * Restarts every replica that is down (or killed and still exiting), all
   * at once, and resolves once each has registered. Returns the replicas it
   * restarted, which is none when all were already up.
   */
  async restartAll(): Promise<NodeId[]> {
    const targets = [...this.replicas.values()].filter((r) => !r.up || r.phase.kind === 'dying');
    await settleAll(targets.map((r) => this.restart(r.id)));
    return targets.map((r) => r.id);
  }

  /**
   * Starts a down replica whose data was lost or damaged on a fresh data
   * directory, recovering: the replica sets its old data aside (never
   * deleted), learns the log and votes again only once its re-admission
   * opened an epoch (core/multi/recovery.ts). Basic Paxos has no epochs, so
   * its replica stays down.
   */
  async recover(id: NodeId): Promise<void> {
    if (this.host.protocol === 'basic')
      throw new OperatingError(
        `${nodeName(id)} cannot recover in Basic Paxos: its acceptors are fixed, with no epoch to close what it forgot; leave it down (the others decide while they are a majority) or start over with \`paxos up --fresh\``,
      );
    this.host.supervisor.recoverOnNextStart.add(id);
    try {
      await this.restart(id);
    } finally {
      this.host.supervisor.recoverOnNextStart.delete(id);
    }
  }

  async restart(id: NodeId): Promise<void> {
    const r = this.replica(id);
    // A replica we killed whose exit has not been seen yet is not running: wait for it rather than refuse or race its lock.
    if (r.phase.kind === 'dying') await r.waitUntilGone();
    if (r.paused) throw new OperatingError(`${nodeName(id)} is paused, not down; resume it or kill it first`);
    if (r.up && !r.registered)
      throw new OperatingError(`${nodeName(id)} is already starting; see it come up with \`paxos status\``);
    if (r.up) throw new OperatingError(`${nodeName(id)} is running; kill it first`);
    const holder = liveLockHolder(r.dataDir);
    if (holder !== null)
      throw new OperatingError(
        `${nodeName(id)} cannot restart: its data directory ${r.dataDir} is locked by another live process (pid ${holder})`,
      );
    await this.host.supervisor.choosePort(r);
    this.host.supervisor.spawn(r);
    await waitForRegistration(
      [r],
      10_000,
      'failed to start from its data',
      () => `${nodeName(id)} did not come back within 10s; see ${r.logFile}`,
    );
    this.host.saveRecord();
  }

  /**
   * Freezes a running replica with SIGSTOP, Jepsen's pause nemesis: its
   * process, sockets and data stay, but it computes, sends and answers
   * nothing (like a long GC pause or a stalled VM) until `resume`. Peers see
   * only silence, so it tests timeouts rather than connection errors.
   */
  pause(id: NodeId): void {
    const r = this.replica(id);
    if (this.host.stopping()) throw new OperatingError(`${nodeName(id)} cannot be paused: the cluster is stopping`);
    r.pause();
    this.host.log(`${nodeName(id)} paused (SIGSTOP)`);
  }

  /** Lets a paused replica run again with SIGCONT; it carries on from where it stopped, its timers all late. */
  resume(id: NodeId): void {
    const r = this.replica(id);
    if (!r.paused) throw new OperatingError(`${nodeName(id)} is not paused`);
    this.continueReplica(r);
  }

  /** Resumes every paused replica and returns which they were (none is not an error: there is nothing to undo). */
  resumeAll(): NodeId[] {
    const paused = [...this.replicas.values()].filter((r) => r.paused);
    for (const r of paused) this.continueReplica(r);
    return paused.map((r) => r.id);
  }

  private continueReplica(r: ReplicaProcess): void {
    r.continue();
    this.host.log(`${nodeName(r.id)} resumed (SIGCONT)`);
  }
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
