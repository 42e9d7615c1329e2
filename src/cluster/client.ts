/**
 * How a command in another terminal reaches the running cluster: it reads the
 * record, makes sure the cluster is really there (a record whose processes
 * are gone is cleaned up, not waited on), and talks to the orchestrator or to
 * one replica over an authenticated loopback connection.
 */

import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent } from '../node/events.js';
import type { HeldMessage, StepRelease } from '../node/step.js';
import { type ControlClient, connectControl } from '../transport/control-client.js';
import { describeIds, paxosHome } from './home.js';
import { monotonicMs } from './monotonic.js';
import {
  type ClusterStatus,
  ORCHESTRATOR_REPLIES,
  type OrchestratorOp,
  type OrchestratorRpc,
} from './orchestrator-rpc.js';
import { type ClusterRecord, clearRecord, isProcessAlive, readRecord } from './record.js';
import { checkOrThrow } from './schemas.js';

export interface HeldList {
  readonly messages: HeldMessage[];
  /** Held in all, which may be more than listed (a replica lists at most a thousand). */
  readonly total: number;
  /** Messages replicas dropped because their hold queue was full. */
  readonly droppedFull: number;
  /** Replicas down or paused, whose held messages (if any) are not listed. */
  readonly down: number[];
}

export interface TickResult {
  readonly node: number;
  readonly ticks: number;
  readonly newlyHeld: number;
  readonly held: number;
}

const CONNECT_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * A restart may first wait up to 5 s for the replica's previous process to
 * finish exiting and then up to 10 s for the new one to register; the
 * client waits longer than both, so the orchestrator's own sentence, not a
 * client timeout, is what the user sees when either runs out.
 */
const RESTART_TIMEOUT_MS = 20_000;
/** The orchestrator waits up to 10 s for a new learner to register, and longer to clean up one that did not. */
const ADD_LEARNER_TIMEOUT_MS = 20_000;

/** How long stopping a cluster waits for its orchestrator to exit (its replicas get 3 s of grace before SIGKILL). */
const ORCHESTRATOR_EXIT_WAIT_MS = 10_000;

export class ClusterClient {
  private constructor(
    readonly record: ClusterRecord,
    private readonly orchestrator: ControlClient,
  ) {}

  static async connect(home = paxosHome()): Promise<ClusterClient> {
    const record = readRecord(home);
    if (record === null) throw new OperatingError('no cluster is running; start one with `paxos up -n 5`');
    if (!isProcessAlive(record.orchestratorPid)) {
      cleanStale(record, home);
      throw new OperatingError(
        `the cluster recorded in ${home} is gone (its orchestrator, pid ${record.orchestratorPid}, exited); removed the stale record, start a new one with \`paxos up\``,
      );
    }
    try {
      const control = await connectControl({
        socketPath: record.controlSocket,
        secret: record.secret,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
      return new ClusterClient(record, control);
    } catch (err) {
      throw new OperatingError(
        `the cluster's orchestrator (pid ${record.orchestratorPid}) does not answer on ${record.controlSocket}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Asks the orchestrator, and checks its answer against the op's reply
   * schema. Its refusals are operating errors: one sentence for the user,
   * not a stack.
   */
  private async call<K extends OrchestratorOp>(
    op: K,
    body: OrchestratorRpc[K]['req'],
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<OrchestratorRpc[K]['res']> {
    let reply: unknown;
    try {
      reply = await this.orchestrator.request({ op, ...body }, timeoutMs);
    } catch (err) {
      throw new OperatingError((err as Error).message);
    }
    return checkOrThrow(
      ORCHESTRATOR_REPLIES[op],
      reply,
      `the orchestrator's answer to ${op}`,
      (sentence) => new OperatingError(sentence),
    );
  }

  async status(): Promise<ClusterStatus> {
    return (await this.call('status', {})).cluster;
  }

  /** Resolves once the replica's process has exited, so a `restart` right after it can start a new one. */
  async kill(node: number): Promise<void> {
    await this.call('kill', { node });
  }

  async restart(node: number): Promise<void> {
    await this.call('restart', { node }, RESTART_TIMEOUT_MS);
  }

  /** Starts a replica whose data was lost or damaged on a fresh directory, recovering (Multi-Paxos); its old data is kept aside. */
  async recover(node: number): Promise<void> {
    await this.call('recover', { node }, RESTART_TIMEOUT_MS);
  }

  /** Kills every replica that is up at once; resolves once all have exited, with the replicas it killed. */
  async killAll(): Promise<number[]> {
    return (await this.call('kill-all', {})).nodes;
  }

  /** Restarts every replica that is down, all at once; resolves once all have registered, with the replicas it restarted. */
  async restartAll(): Promise<number[]> {
    return (await this.call('restart-all', {}, RESTART_TIMEOUT_MS)).nodes;
  }

  /** Freezes a running replica with SIGSTOP; it stays up (process and sockets alive) but silent until `resume`. */
  async pause(node: number): Promise<void> {
    await this.call('pause', { node });
  }

  /** Lets a paused replica run again with SIGCONT. */
  async resume(node: number): Promise<void> {
    await this.call('resume', { node });
  }

  /** Resumes every paused replica; resolves with the ones it resumed (none is not an error). */
  async resumeAll(): Promise<number[]> {
    return (await this.call('resume-all', {})).nodes;
  }

  async partition(groups: number[][]): Promise<void> {
    await this.call('partition', { groups });
  }

  async isolate(node: number): Promise<void> {
    await this.call('isolate', { node });
  }

  async heal(): Promise<void> {
    await this.call('heal', {});
  }

  async net(body: { delayMs?: { min: number; max: number } | null; dropRate?: number }): Promise<void> {
    await this.call('net', body);
  }

  /** Starts a new replica as a learner (next free id); resolves once it has registered, with its id and port. */
  async addLearner(): Promise<{ node: number; port: number }> {
    return this.call('add-learner', {}, ADD_LEARNER_TIMEOUT_MS);
  }

  /** Stops a replica for good and marks it removed in the manifest. */
  async removeReplica(node: number): Promise<void> {
    await this.call('remove-replica', { node });
  }

  /** Records in the manifest that a learner's config command was chosen. */
  async markVoter(node: number): Promise<void> {
    await this.call('mark-voter', { node });
  }

  /** Step mode: every running replica's held messages. */
  async held(): Promise<HeldList> {
    // Only the list's own fields: the answer also carries the request's id.
    const { messages, total, droppedFull, down } = await this.call('held', {});
    return { messages, total, droppedFull, down };
  }

  /** Step mode: delivers, drops or duplicates (delivers a copy and keeps holding) the named held messages, or all of them. */
  async release(op: StepRelease, ids: readonly string[] | 'all'): Promise<HeldMessage[]> {
    return (await this.call(op, ids !== 'all' ? { ids: [...ids] } : {})).done;
  }

  /** Step mode: `count` ticks on one replica, or on every running one. */
  async tick(node: number | 'all', count: number): Promise<TickResult[]> {
    return (await this.call('tick', { count, ...(node !== 'all' ? { node } : {}) })).ticks;
  }

  async down(): Promise<void> {
    await this.call('down', {});
  }

  /**
   * Stops the cluster and closes this connection, then waits (at most `exitWaitMs`) for the orchestrator's process to
   * exit: it answers `down` first and stops its replicas after, so a caller that returned at once would leave them
   * still writing (a check's results folder removed under them, seen in a clean-clone run).
   */
  async stop(exitWaitMs = ORCHESTRATOR_EXIT_WAIT_MS): Promise<void> {
    const pid = this.record.orchestratorPid;
    try {
      await this.down();
    } finally {
      this.close();
    }
    const deadline = monotonicMs() + exitWaitMs;
    while (isProcessAlive(pid) && monotonicMs() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Streams cluster events until the returned function is called. */
  async subscribe(onEvent: (e: ClusterEvent) => void): Promise<ClusterStatus> {
    this.orchestrator.onEvent((e) => onEvent(e as ClusterEvent));
    return (await this.call('subscribe', {})).cluster;
  }

  /**
   * A direct connection to one replica, for proposals and reads. `port`
   * reaches a replica that joined after this client read the record.
   */
  async replica(node: number, port?: number): Promise<ControlClient> {
    // A replica that joined after the record was read is found in the orchestrator's status.
    const r =
      port !== undefined
        ? { port }
        : (this.record.replicas.find((x) => x.id === node) ??
          (await this.status().catch(() => null))?.replicas.find((x) => x.id === node));
    if (r === undefined)
      throw new OperatingError(
        `there is no ${nodeName(node)}: this cluster has ${describeIds(this.record.replicas.map((x) => x.id))}`,
      );
    try {
      return await connectControl({
        host: this.record.host,
        port: r.port,
        secret: this.record.secret,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      throw new OperatingError(
        `cannot reach ${nodeName(node)} on ${this.record.host}:${r.port}: ${(err as Error).message}`,
      );
    }
  }

  close(): void {
    this.orchestrator.close();
  }
}

/**
 * Forgets a cluster whose orchestrator died. Its replicas notice the same and
 * exit on their own within a second; killing recorded pids here could hit an
 * unrelated process that reused one.
 */
function cleanStale(_record: ClusterRecord, home: string): void {
  clearRecord(home);
}

/** Connects to the running cluster, runs `fn` with it, and closes the connection whatever happens. */
export async function withCluster<T>(fn: (cluster: ClusterClient) => Promise<T>): Promise<T> {
  const cluster = await ClusterClient.connect();
  try {
    return await fn(cluster);
  } finally {
    cluster.close();
  }
}
