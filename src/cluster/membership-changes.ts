/**
 * `paxos add`, `paxos remove node-3` and `paxos replace node-3`: membership
 * change of a running Multi-Paxos cluster. The protocol does the change (a
 * config command, chosen in the log like any other, compare-and-set on the
 * epoch it replaces); this module sequences the real processes around it:
 * a learner is started and caught up before it is proposed as a voter, and
 * a removed replica is stopped only once the change that removes it is
 * chosen. The manifest follows what was chosen, never what was hoped for.
 */

import type { Membership } from '../core/membership.js';
import type { ClientFailure, ClientSuccess, NodeId, NodeView, Protocol } from '../core/types.js';
import { nodeName, quorumSize } from '../core/types.js';
import { OperatingError, OutcomeError, UsageError } from '../errors.js';
import type { ReplicaStatus } from '../node/events.js';
import { showLine } from '../text/escape.js';
import type { ControlClient } from '../transport/ws-transport.js';
import { type ClusterClient, withCluster } from './client.js';
import { monotonicMs } from './monotonic.js';
import { BASIC_REFUSAL, type ClusterStatus } from './orchestrator.js';

const POLL_MS = 200;
const LEADER_WAIT_MS = 5000;
/** How much longer than the replica's own deadline the client waits for its answer (as for propose). */
const ANSWER_GRACE_MS = 2000;

/** What a membership command reports, step by step as it happens, and as one JSON object at the end. */
export interface Reporter {
  step(line: string): void;
}

export interface ChangeResult {
  readonly op: 'add' | 'remove';
  readonly node: NodeId;
  /** The epoch the change installed, and the first slot it governs. */
  readonly epoch: number;
  readonly fromSlot: number;
  readonly voters: readonly NodeId[];
}

export interface AddResult extends ChangeResult {
  readonly op: 'add';
  readonly caughtUp: { readonly applied: number; readonly of: number };
}

export interface ReplaceResult {
  readonly op: 'replace';
  readonly removed: ChangeResult;
  readonly added: AddResult;
}

// ------------------------------------------------------------ pure rules

export function refuseBasic(protocol: Protocol): void {
  if (protocol !== 'multi') throw new UsageError(BASIC_REFUSAL);
}

/** The configuration a view reports; a view without one (a core before membership change) is the bootstrap one. */
export function membershipOf(view: NodeView | undefined, clusterSize: number): Membership {
  return view?.membership ?? { epoch: 0, voters: Array.from({ length: clusterSize }, (_, i) => i + 1), startSlot: 1 };
}

/** The newest configuration any replica that answers has applied: the highest epoch wins. */
export function currentMembership(statuses: readonly (ReplicaStatus | null)[], clusterSize: number): Membership {
  let best: Membership | null = null;
  for (const s of statuses) {
    const m = s?.view.membership;
    if (m !== undefined && (best === null || m.epoch > best.epoch)) best = m;
  }
  return best ?? membershipOf(undefined, clusterSize);
}

/** The voters after removing `node`; refused in one sentence when `node` is not a voter or is the last one. */
export function votersWithout(m: Membership, node: NodeId, manifestState?: string): NodeId[] {
  if (!m.voters.includes(node)) {
    const what =
      manifestState === 'learner'
        ? 'a learner'
        : manifestState === 'removed'
          ? 'already removed'
          : 'not a member of this cluster';
    throw new UsageError(
      `${nodeName(node)} is not a voter (it is ${what}); the voters are ${m.voters.map((v) => nodeName(v)).join(', ')}`,
    );
  }
  if (m.voters.length === 1)
    throw new UsageError(`${nodeName(node)} is the last voter; a cluster cannot decide anything without one`);
  return m.voters.filter((v) => v !== node);
}

export function votersWith(m: Membership, node: NodeId): NodeId[] {
  return [...m.voters.filter((v) => v !== node), node].sort((a, b) => a - b);
}

/**
 * Refuses up front, with nothing started or changed, a change the old
 * configuration cannot choose: fewer than a majority of its voters running.
 * (A partition can still hide a majority; the protocol then answers.)
 */
export function checkQuorum(status: ClusterStatus, m: Membership): void {
  const running = m.voters.filter((id) => status.replicas.some((r) => r.id === id && r.up && r.paused !== true));
  const needed = quorumSize(m.voters.length);
  if (running.length < needed) {
    throw new OperatingError(
      `no quorum: ${running.length} of ${m.voters.length} voters are running, ${needed} needed to choose a membership change; nothing changed`,
    );
  }
}

// ----------------------------------------------------------- the cluster

type Reply = (ClientSuccess | (Omit<ClientFailure, 'error'> & { reason: string })) & { latencyMs: number };

/** What a membership change needs of the cluster: the orchestrator's status and control ops, and replicas to talk to. */
export type MembershipCluster = Pick<
  ClusterClient,
  'status' | 'replica' | 'addLearner' | 'removeReplica' | 'markVoter'
> & {
  /**
   * false for replicas on other hosts (`--cluster`): addLearner only finds
   * a learner someone started, and removeReplica stops nothing, so the
   * report must not say a replica was started or stopped. Absent: the
   * orchestrator starts and stops them.
   */
  readonly startsReplicas?: boolean;
};

export interface Context {
  readonly cluster: MembershipCluster;
  readonly report: Reporter;
  readonly timeoutMs: number;
}

async function withClient<T>(
  cluster: MembershipCluster,
  node: NodeId,
  port: number | undefined,
  fn: (c: ControlClient) => Promise<T>,
): Promise<T> {
  const c = await cluster.replica(node, port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

async function replicaStatus(cluster: MembershipCluster, node: NodeId, port?: number): Promise<ReplicaStatus | null> {
  try {
    return await withClient(
      cluster,
      node,
      port,
      async (c) => ((await c.request({ op: 'status' }, 3000)) as { status: ReplicaStatus }).status,
    );
  } catch {
    return null;
  }
}

/** The cluster's state for a change: a leader among the voters (waited for, briefly), its fresh view, and the current configuration. */
async function survey(ctx: Context): Promise<{ status: ClusterStatus; membership: Membership; leader: NodeId | null }> {
  const deadline = monotonicMs() + LEADER_WAIT_MS;
  for (;;) {
    const status = await ctx.cluster.status();
    refuseBasic(status.protocol);
    const up = status.replicas.filter((r) => r.up && r.paused !== true);
    const fresh = await Promise.all(up.map((r) => replicaStatus(ctx.cluster, r.id, r.port)));
    if (fresh.some((s) => s !== null && s.view.membership === undefined)) {
      throw new OperatingError(
        'this cluster runs a core without membership change; rebuild paxos with it and restart the cluster',
      );
    }
    const membership = currentMembership(fresh, status.clusterSize);
    const leader =
      fresh.find((s) => s !== null && s.view.role === 'leader' && membership.voters.includes(s.node))?.node ?? null;
    if (leader !== null || monotonicMs() > deadline) return { status, membership, leader };
    await sleep(POLL_MS);
  }
}

/** Where to send a config command: the leader, else any running voter but `not` (it forwards to the leader when one appears). */
function entryOf(status: ClusterStatus, m: Membership, leader: NodeId | null, not?: NodeId): NodeId {
  if (leader !== null) return leader;
  const voter = status.replicas.find(
    (r) => r.up && r.paused !== true && !r.isolated && m.voters.includes(r.id) && r.id !== not,
  );
  if (voter === undefined) throw new OperatingError('no voter is running to take the change; nothing changed');
  return voter.id;
}

/**
 * Runs one config command and returns the slot of its stop-sign; a refusal
 * or an unknown outcome becomes an OutcomeError whose sentence `explain`
 * finishes (what was, or was not, changed around it).
 */
async function reconfigure(
  ctx: Context,
  via: NodeId,
  fromEpoch: number,
  voters: readonly NodeId[],
  explain: (outcome: 'refused' | 'unknown') => Promise<string> | string,
): Promise<number> {
  let reply: Reply;
  try {
    reply = await withClient(
      ctx.cluster,
      via,
      undefined,
      async (c) =>
        (await c.request(
          { op: 'reconfigure', fromEpoch, voters, timeoutMs: ctx.timeoutMs },
          ctx.timeoutMs + ANSWER_GRACE_MS,
        )) as Reply,
    );
  } catch (err) {
    const slot = await chosenAnyway(ctx, fromEpoch, voters);
    if (slot !== null) return slot;
    throw new OutcomeError(
      `outcome unknown: no answer from ${nodeName(via)} (${(err as Error).message}); ${await explain('unknown')}`,
      'unknown',
      'no-answer',
      via,
    );
  }
  if (!reply.ok && reply.outcome === 'unknown') {
    const slot = await chosenAnyway(ctx, fromEpoch, voters);
    if (slot !== null) return slot;
  }
  if (!reply.ok) {
    const why =
      reply.code === 'config-changed'
        ? `the configuration changed meanwhile (epoch ${fromEpoch} is no longer current), so this change was not applied; run the command again`
        : showLine(reply.reason);
    const lead =
      reply.outcome === 'refused'
        ? 'the membership change was not chosen'
        : 'outcome unknown: the membership change may still be chosen';
    throw new OutcomeError(
      `${lead}: ${why} (${nodeName(via)}); ${await explain(reply.outcome)}`,
      reply.outcome,
      reply.code,
      via,
    );
  }
  if (reply.slot === undefined)
    throw new OperatingError(`${nodeName(via)} chose the change without saying in which slot`);
  return reply.slot;
}

/**
 * After an unknown outcome, one look at what the replicas have applied: a
 * configuration newer than `fromEpoch` with exactly these voters means the
 * change was chosen after all (the slot before the one it governs from is
 * its stop-sign). Anything else stays unknown: it may still be chosen later.
 */
async function chosenAnyway(ctx: Context, fromEpoch: number, voters: readonly NodeId[]): Promise<number | null> {
  const status = await ctx.cluster.status().catch(() => null);
  if (status === null) return null;
  const up = status.replicas.filter((r) => r.up && r.paused !== true);
  const m = currentMembership(
    await Promise.all(up.map((r) => replicaStatus(ctx.cluster, r.id, r.port))),
    status.clusterSize,
  );
  const same = m.voters.length === voters.length && voters.every((v) => m.voters.includes(v));
  return m.epoch > fromEpoch && same ? m.startSlot - 1 : null;
}

/** The epoch the leader reports once the change is chosen; the next epoch if it does not answer. */
async function epochAfter(ctx: Context, via: NodeId, fromEpoch: number): Promise<number> {
  const s = await replicaStatus(ctx.cluster, via);
  const epoch = s?.view.membership?.epoch;
  return epoch !== undefined && epoch > fromEpoch ? epoch : fromEpoch + 1;
}

/**
 * Waits (bounded) until a majority of the new voters have entered the new
 * epoch. Until then the removed replica may be the only one that knows the
 * change was chosen, and stopping it would leave the new voters unable to
 * learn it: the simulator found that stall. If the wait runs out the replica
 * is stopped anyway, and the sentence says so.
 */
async function handedOver(ctx: Context, voters: readonly NodeId[], epoch: number, name: string): Promise<void> {
  const waitMs = Math.min(ctx.timeoutMs, HANDOVER_WAIT_MS);
  const deadline = monotonicMs() + waitMs;
  for (;;) {
    const seen = await Promise.all(voters.map((v) => replicaStatus(ctx.cluster, v)));
    const entered = seen.filter((s) => (s?.view.membership?.epoch ?? -1) >= epoch).length;
    if (entered * 2 > voters.length) return;
    if (monotonicMs() > deadline) {
      ctx.report.step(
        `only ${entered} of the ${voters.length} new voters had entered epoch ${epoch} after ${waitMs / 1000}s; stopping ${name} anyway`,
      );
      return;
    }
    await sleep(POLL_MS);
  }
}

/** How long remove waits for the new voters to take over before it stops the removed replica. */
const HANDOVER_WAIT_MS = 5000;

/**
 * Polls the learner until it has every slot the leader knew chosen when the
 * polling began. The target is fixed, not the leader's moving commit point:
 * under load the learner would otherwise chase it for ever; when it is
 * reached, the learner is behind only by what was chosen during its
 * catch-up, which it learns like any replica once it votes. (A margin on a
 * moving target would call a replica with an empty log caught up with a
 * short one.)
 */
export function caughtUp(applied: number, target: number): boolean {
  return applied >= target;
}

async function waitCaughtUp(
  ctx: Context,
  learner: { node: NodeId; port: number },
  leader: NodeId,
  deadline: number,
): Promise<{ applied: number; of: number } | { late: true; applied: number; of: number }> {
  let applied = 0;
  let of = 0;
  let target: number | null = null;
  for (;;) {
    const [mine, theirs] = await Promise.all([
      replicaStatus(ctx.cluster, learner.node, learner.port),
      replicaStatus(ctx.cluster, leader),
    ]);
    if (mine !== null) applied = Math.max(0, (mine.view.commitIndex ?? 1) - 1);
    if (theirs !== null) {
      of = Math.max(0, (theirs.view.commitIndex ?? 1) - 1);
      target ??= of;
    }
    if (mine !== null && target !== null && caughtUp(applied, target)) return { applied, of: Math.max(of, applied) };
    if (monotonicMs() > deadline) return { late: true, applied, of };
    await sleep(POLL_MS);
  }
}

export async function addOn(ctx: Context): Promise<AddResult> {
  const deadline = monotonicMs() + ctx.timeoutMs;
  const { status, membership, leader } = await survey(ctx);
  checkQuorum(status, membership);
  if (leader === null)
    throw new OperatingError(
      `no leader among the voters within ${LEADER_WAIT_MS / 1000}s, so nobody can catch a learner up; nothing changed`,
    );
  const learner = await ctx.cluster.addLearner();
  const name = nodeName(learner.node);
  const starts = ctx.cluster.startsReplicas !== false;
  // Without an orchestrator the driver has already said where the learner answers; nothing was started here.
  if (starts) ctx.report.step(`${name} started as a learner`);
  const dropLearner = async (): Promise<string> => {
    try {
      await ctx.cluster.removeReplica(learner.node);
      return starts
        ? `${name} was stopped and marked removed; nothing changed`
        : `${name} is still running as a learner (nothing here started it, so nothing here stops it); nothing changed`;
    } catch (err) {
      return `stopping ${name} failed too (${(err as Error).message}); remove it with \`paxos remove ${name}\``;
    }
  };
  const caught = await waitCaughtUp(ctx, learner, leader, deadline);
  if ('late' in caught) {
    throw new OperatingError(
      `${name} did not catch up within ${ctx.timeoutMs / 1000}s (applied slot ${caught.applied} of ${caught.of}); ${await dropLearner()}`,
    );
  }
  ctx.report.step(`${name} caught up: applied slot ${caught.applied} of ${caught.of}`);
  const voters = votersWith(membership, learner.node);
  // Refused: known not chosen, so the learner goes. Unknown: it may still become a voter, so it stays, running.
  const slot = await reconfigure(ctx, leader, membership.epoch, voters, (outcome) =>
    outcome === 'refused' ? dropLearner() : `${name} is left running as a learner; see \`paxos status\``,
  );
  await ctx.cluster.markVoter(learner.node).catch((err: unknown) => {
    throw new OperatingError(
      `${name} is a voter from slot ${slot + 1}, but the manifest could not record it (${(err as Error).message}); \`paxos status\` shows what the replicas have applied`,
    );
  });
  const epoch = await epochAfter(ctx, leader, membership.epoch);
  ctx.report.step(`${name} is a voter from slot ${slot + 1} (epoch ${epoch})`);
  return { op: 'add', node: learner.node, epoch, fromSlot: slot + 1, voters, caughtUp: caught };
}

export async function removeOn(ctx: Context, node: NodeId): Promise<ChangeResult> {
  const { status, membership, leader } = await survey(ctx);
  const state = status.members?.find((m) => m.id === node)?.state;
  // A learner (an add that ended unknown, say) votes nowhere: stopping it changes no configuration.
  if (state === 'learner' && !membership.voters.includes(node)) return removeLearner(ctx, node, membership);
  const voters = votersWithout(membership, node, state);
  checkQuorum(status, membership);
  // The leader takes the change even when it removes itself: it stops leading once the change is applied.
  const via = entryOf(status, membership, leader, node);
  const name = nodeName(node);
  const slot = await reconfigure(ctx, via, membership.epoch, voters, (outcome) =>
    outcome === 'refused'
      ? `${name} is still a voter; nothing changed`
      : `${name} is left running; see \`paxos status\``,
  );
  const epoch = await epochAfter(ctx, via === node ? voters[0] : via, membership.epoch);
  ctx.report.step(
    `${name} is no longer a voter from slot ${slot + 1} (epoch ${epoch}); the voters are ${voters.map((v) => nodeName(v)).join(', ')}`,
  );
  await handedOver(ctx, voters, epoch, name);
  await ctx.cluster.removeReplica(node);
  ctx.report.step(`${name} stopped and marked removed`);
  return { op: 'remove', node, epoch, fromSlot: slot + 1, voters };
}

async function removeLearner(ctx: Context, node: NodeId, m: Membership): Promise<ChangeResult> {
  await ctx.cluster.removeReplica(node);
  ctx.report.step(
    `${nodeName(node)} was a learner, not a voter: stopped and marked removed; the configuration is unchanged (epoch ${m.epoch})`,
  );
  return { op: 'remove', node, epoch: m.epoch, fromSlot: m.startSlot, voters: [...m.voters] };
}

export function runAdd(o: { timeoutMs: number; report: Reporter }): Promise<AddResult> {
  return withCluster((cluster) => addOn({ cluster, report: o.report, timeoutMs: o.timeoutMs }));
}

export function runRemove(o: { node: NodeId; timeoutMs: number; report: Reporter }): Promise<ChangeResult> {
  return withCluster((cluster) => removeOn({ cluster, report: o.report, timeoutMs: o.timeoutMs }, o.node));
}

/**
 * A replica whose disk is gone cannot rejoin under its old id (it would
 * have forgotten its promises), so it is removed, and a fresh replica joins
 * with a new id.
 */
export function runReplace(o: { node: NodeId; timeoutMs: number; report: Reporter }): Promise<ReplaceResult> {
  return withCluster(async (cluster) => {
    const ctx = { cluster, report: o.report, timeoutMs: o.timeoutMs };
    o.report.step(
      `replacing ${nodeName(o.node)}: a replica whose data is gone cannot rejoin under its old id, so ${nodeName(o.node)} is removed and a fresh replica joins with a new id`,
    );
    const removed = await removeOn(ctx, o.node);
    const added = await addOn(ctx);
    return { op: 'replace', removed, added };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
