/**
 * Step mode (`paxos up --step`) as the orchestrator relays it: every replica
 * holds its outgoing messages and ticks only when asked, and this merges
 * their held lists and sends each delivery, drop, duplicate or tick to the
 * replica it concerns. Only replicas that are running are asked: a paused
 * one cannot answer, and a killed one's held messages died with it.
 */
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import { type HeldMessage, NOT_STEP_MODE, RELEASED, type StepRelease } from '../node/step.js';
import type { ReplicaProcess } from './replica-process.js';
import type { ReplicaLink } from './replica-rpc.js';

/** A replica answers a step request at once, or after at most 2 s of settling for a tick. */
export const STEP_REQUEST_MS = 5000;

export class StepRelay {
  constructor(
    private readonly enabled: boolean,
    private readonly replicas: ReadonlyMap<NodeId, ReplicaProcess>,
    /** The replica with this id, or the orchestrator's sentence for why there is none. */
    private readonly replica: (id: NodeId) => ReplicaProcess,
  ) {}

  /** The replicas that can answer now, each with its link; refused outside step mode. */
  private running(): Map<NodeId, ReplicaLink> {
    if (!this.enabled) throw new OperatingError(NOT_STEP_MODE);
    const up = new Map<NodeId, ReplicaLink>();
    // Registered and not paused: running, or killed with its exit not yet seen (its requests then fail with the lost connection).
    for (const r of this.replicas.values()) if (r.link !== null && !r.paused) up.set(r.id, r.link);
    return up;
  }

  /**
   * The link of a replica that can answer, or a sentence saying it is paused
   * or down (`then` finishes it). An unknown id is refused before `up` is
   * asked for, so its sentence comes first even outside step mode.
   */
  private runningOne(node: NodeId, up: () => Map<NodeId, ReplicaLink>, then = ''): ReplicaLink {
    const r = this.replica(node);
    const link = up().get(node);
    if (link === undefined) throw new OperatingError(`${nodeName(node)} is ${r.paused ? 'paused' : 'down'}${then}`);
    return link;
  }

  /** Every running replica's held messages, merged: by holder, then in the order each held them. */
  async held(): Promise<{ messages: HeldMessage[]; total: number; droppedFull: number; down: NodeId[] }> {
    const up = this.running();
    const answers = await Promise.all([...up.values()].map((link) => link.request('held', {}, STEP_REQUEST_MS)));
    return {
      messages: answers.flatMap((a) => a.messages),
      total: answers.reduce((n, a) => n + a.total, 0),
      droppedFull: answers.reduce((n, a) => n + a.droppedFull, 0),
      down: [...this.replicas.values()].filter((r) => !up.has(r.id)).map((r) => r.id),
    };
  }

  /**
   * Delivers, drops or duplicates held messages. An id names its holder (`2:5` is held
   * by node-2), so each goes to that replica alone; `all` goes to every
   * running replica. An id no replica holds (delivered already, or its
   * holder was killed) is refused in one sentence, and nothing is done.
   */
  async release(op: StepRelease, ids: readonly string[] | 'all'): Promise<{ done: HeldMessage[] }> {
    const up = this.running();
    if (ids === 'all') {
      const answers = await Promise.all(
        [...up.values()].map((link) => link.request(op, { ids: 'all' }, STEP_REQUEST_MS)),
      );
      return { done: answers.flatMap((a) => a.done) };
    }
    const byNode = this.byHolder(op, ids, up);
    // Each holder takes its ids all or none, so a typo leaves that replica's other messages held rather than half handled.
    const answers = await Promise.all(
      [...byNode].map(([link, mine]) => link.request(op, { ids: mine }, STEP_REQUEST_MS)),
    );
    const missing = answers.flatMap((a) => a.missing);
    const done = answers.flatMap((a) => a.done);
    if (missing.length > 0) {
      const did = done.length > 0 ? `; ${RELEASED[op]} ${done.map((m) => m.id).join(', ')} all the same` : '';
      throw new OperatingError(`no replica holds ${missing.join(', ')} (see paxos held)${did}`);
    }
    return { done };
  }

  /** The ids grouped by the running replica that holds them; refused whole if any names a replica that is not running. */
  private byHolder(op: StepRelease, ids: readonly string[], up: Map<NodeId, ReplicaLink>): Map<ReplicaLink, string[]> {
    const byNode = new Map<ReplicaLink, string[]>();
    for (const id of ids) {
      const node = Number(id.split(':')[0]);
      const r = this.replicas.get(node);
      if (r === undefined)
        throw new OperatingError(`there is no held message ${id}: no ${nodeName(node)} in this cluster`);
      const link = up.get(node);
      if (link === undefined)
        throw new OperatingError(
          `${nodeName(node)} is ${r.paused ? 'paused' : 'down'}, so it cannot ${op} ${id}${r.paused ? '' : " (a killed replica's held messages die with it)"}`,
        );
      byNode.set(link, [...(byNode.get(link) ?? []), id]);
    }
    return byNode;
  }

  /**
   * One step-mode request to one running replica, for a live scenario, which
   * reads each replica's journal and state, injects messages whose sender
   * died and sends its clients' commands. Refused when the cluster is not in step mode or the replica is not running.
   */
  async forward(
    node: NodeId,
    req: { readonly op: string } & Record<string, unknown>,
    timeoutMs = STEP_REQUEST_MS,
  ): Promise<unknown> {
    return this.runningOne(node, () => this.running()).forward(req, timeoutMs);
  }

  /** Advances one replica's time, or every running replica's, by `count` ticks; answers once the ticks' messages are held. */
  async tick(
    node: NodeId | 'all',
    count: number,
  ): Promise<{ ticks: { node: NodeId; ticks: number; newlyHeld: number; held: number }[] }> {
    const up = this.running();
    const targets =
      node === 'all'
        ? [...up]
        : [[node, this.runningOne(node, () => up, '; only a running replica can tick')] as const];
    const answers = await Promise.all(
      targets.map(async ([id, link]) => ({ node: id, ...(await link.request('tick', { count }, STEP_REQUEST_MS)) })),
    );
    return { ticks: answers };
  }
}
