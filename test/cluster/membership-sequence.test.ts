/**
 * The order of a membership change's steps, against a scripted cluster (no
 * processes): a learner is proposed only once caught up, marked a voter only
 * once the change is chosen; a refused change stops it and marks it removed,
 * an unknown one leaves it running; a removed voter is stopped only after the
 * change that removes it is chosen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addOn, type Context, type MembershipCluster, removeOn } from '../../src/cluster/membership-changes.js';
import type { ClusterStatus } from '../../src/cluster/orchestrator.js';
import type { Membership } from '../../src/core/membership.js';
import type { NodeView } from '../../src/core/types.js';
import { OperatingError, OutcomeError } from '../../src/errors.js';
import type { ReplicaStatus } from '../../src/node/events.js';
import type { ControlClient } from '../../src/transport/ws-transport.js';

type ReconfigureReply = Record<string, unknown>;

/** A 3-voter cluster led by node-1; `reconfigure` answers what the test scripts, and `learnerCommit` is how far a learner has caught up. */
class FakeCluster implements MembershipCluster {
  readonly calls: string[] = [];
  membership: Membership = { epoch: 0, voters: [1, 2, 3], startSlot: 1 };
  members = [1, 2, 3].map((id) => ({ id, state: 'voter' as 'voter' | 'learner' | 'removed' }));
  leaderCommit = 30;
  learnerCommit = 30;
  up = new Set([1, 2, 3]);

  constructor(
    private readonly reconfigureReply: (body: Record<string, unknown>) => ReconfigureReply | Promise<never>,
  ) {}

  async status(): Promise<ClusterStatus> {
    const live = this.members.filter((m) => m.state !== 'removed');
    return {
      protocol: 'multi',
      clusterSize: 3,
      orchestratorPid: 1,
      faults: {},
      members: this.members.map((m) => ({ ...m })),
      replicas: live.map((m) => ({
        id: m.id,
        port: 7000 + m.id,
        pid: 1,
        up: this.up.has(m.id),
        isolated: false,
        status: null,
        paused: false,
      })),
    };
  }

  private view(id: number): NodeView {
    const member = this.membership.voters.includes(id) ? 'voter' : 'learner';
    return {
      id,
      protocol: 'multi',
      role: id === 1 ? 'leader' : 'follower',
      leader: 1,
      promised: { round: 1, node: 1 } as NodeView['promised'],
      lastAccepted: null,
      chosenCount: 0,
      commitIndex: id <= 3 ? this.leaderCommit : this.learnerCommit,
      membership: this.membership,
      member,
    };
  }

  async replica(node: number): Promise<ControlClient> {
    return {
      request: async (body) => {
        if (body.op === 'status') {
          const status: ReplicaStatus = {
            node,
            pid: 1,
            port: 7000 + node,
            view: this.view(node),
            messagesIn: 0,
            messagesOut: 0,
            fsyncs: 0,
            rssBytes: 0,
            uptimeMs: 0,
          };
          return { status };
        }
        this.calls.push(
          `reconfigure via node-${node} from epoch ${String(body.fromEpoch)} to ${(body.voters as number[]).join(',')}`,
        );
        const reply = await this.reconfigureReply(body);
        if (reply.ok === true)
          this.membership = {
            epoch: this.membership.epoch + 1,
            voters: body.voters as number[],
            startSlot: (reply.slot as number) + 1,
          };
        return reply;
      },
      onEvent: () => undefined,
      onClose: () => undefined,
      close: () => undefined,
    };
  }

  async addLearner(): Promise<{ node: number; port: number }> {
    const node = this.members.length + 1;
    this.members.push({ id: node, state: 'learner' });
    this.up.add(node);
    this.calls.push(`add-learner node-${node}`);
    return { node, port: 7000 + node };
  }

  async removeReplica(node: number): Promise<void> {
    this.members.find((m) => m.id === node)!.state = 'removed';
    this.up.delete(node);
    this.calls.push(`remove-replica node-${node}`);
  }

  async markVoter(node: number): Promise<void> {
    this.members.find((m) => m.id === node)!.state = 'voter';
    this.calls.push(`mark-voter node-${node}`);
  }
}

const ok =
  (slot: number) =>
  (body: Record<string, unknown>): ReconfigureReply => ({
    requestId: 'r1',
    ok: true,
    op: 'config',
    key: 'config',
    value: (body.voters as number[]).join(','),
    slot,
    ballot: { round: 1, node: 1 },
    roundTrips: 1,
    latencyMs: 1,
  });

function context(cluster: FakeCluster, timeoutMs = 2000): Context & { lines: string[] } {
  const lines: string[] = [];
  return { cluster, timeoutMs, report: { step: (line) => lines.push(line) }, lines };
}

test('add: the learner starts, catches up, is proposed through the leader, then marked a voter', async () => {
  const cluster = new FakeCluster(ok(41));
  const ctx = context(cluster);
  const result = await addOn(ctx);
  assert.deepEqual(cluster.calls, [
    'add-learner node-4',
    'reconfigure via node-1 from epoch 0 to 1,2,3,4',
    'mark-voter node-4',
  ]);
  assert.deepEqual(ctx.lines, [
    'node-4 started as a learner',
    'node-4 caught up: applied slot 29 of 29',
    'node-4 is a voter from slot 42 (epoch 1)',
  ]);
  assert.deepEqual(result, {
    op: 'add',
    node: 4,
    epoch: 1,
    fromSlot: 42,
    voters: [1, 2, 3, 4],
    caughtUp: { applied: 29, of: 29 },
  });
});

test('add: a learner that does not catch up in time is stopped and marked removed, and nothing is proposed', async () => {
  const cluster = new FakeCluster(ok(41));
  cluster.learnerCommit = 3;
  await assert.rejects(
    addOn(context(cluster, 500)),
    (err) =>
      err instanceof OperatingError &&
      /^node-4 did not catch up within 0\.5s \(applied slot 2 of 29\); node-4 was stopped and marked removed; nothing changed$/.test(
        err.message,
      ),
  );
  assert.deepEqual(cluster.calls, ['add-learner node-4', 'remove-replica node-4']);
});

test('add on hosts it does not run (--cluster): no line says a learner was started or stopped', async () => {
  const remote = Object.assign(new FakeCluster(ok(41)), { startsReplicas: false });
  const ctx = context(remote);
  await addOn(ctx);
  assert.deepEqual(ctx.lines, ['node-4 caught up: applied slot 29 of 29', 'node-4 is a voter from slot 42 (epoch 1)']);
  const late = Object.assign(new FakeCluster(ok(41)), { startsReplicas: false, learnerCommit: 3 });
  await assert.rejects(
    addOn(context(late, 500)),
    (err) =>
      err instanceof OperatingError &&
      /node-4 is still running as a learner \(nothing here started it, so nothing here stops it\); nothing changed$/.test(
        err.message,
      ),
  );
});

test('add: a refused change stops the learner and marks it removed; an unknown one leaves it running', async () => {
  const refused = new FakeCluster(() => ({
    requestId: 'r',
    ok: false,
    outcome: 'refused',
    code: 'config-changed',
    reason: 'epoch 0 is not current',
    latencyMs: 1,
  }));
  await assert.rejects(
    addOn(context(refused)),
    (err) =>
      err instanceof OutcomeError &&
      err.outcome === 'refused' &&
      /configuration changed meanwhile .* run the command again \(node-1\); node-4 was stopped and marked removed; nothing changed$/.test(
        err.message,
      ),
  );
  assert.deepEqual(refused.calls.slice(-1), ['remove-replica node-4']);
  assert.equal(refused.members.find((m) => m.id === 4)!.state, 'removed');

  const unknown = new FakeCluster(() => ({
    requestId: 'r',
    ok: false,
    outcome: 'unknown',
    code: 'timeout',
    reason: 'no answer within 2000 ms',
    latencyMs: 1,
  }));
  await assert.rejects(
    addOn(context(unknown)),
    (err) =>
      err instanceof OutcomeError &&
      err.outcome === 'unknown' &&
      /may still be chosen: .*node-4 is left running as a learner; see `paxos status`$/.test(err.message),
  );
  assert.equal(unknown.members.find((m) => m.id === 4)!.state, 'learner');
  assert.ok(!unknown.calls.includes('remove-replica node-4'));
});

test('add is refused before anything starts when a majority of the voters is not running', async () => {
  const cluster = new FakeCluster(ok(41));
  cluster.up = new Set([1]);
  await assert.rejects(addOn(context(cluster)), /^Error: no quorum: 1 of 3 voters are running, 2 needed/);
  assert.deepEqual(cluster.calls, []);
});

test('remove: the change is chosen first, then the replica is stopped and marked removed; refusals change nothing', async () => {
  const cluster = new FakeCluster(ok(50));
  const ctx = context(cluster);
  const result = await removeOn(ctx, 3);
  assert.deepEqual(cluster.calls, ['reconfigure via node-1 from epoch 0 to 1,2', 'remove-replica node-3']);
  assert.deepEqual(result, { op: 'remove', node: 3, epoch: 1, fromSlot: 51, voters: [1, 2] });
  assert.deepEqual(ctx.lines, [
    'node-3 is no longer a voter from slot 51 (epoch 1); the voters are node-1, node-2',
    'node-3 stopped and marked removed',
  ]);
  await assert.rejects(removeOn(context(cluster), 3), /node-3 is not a voter \(it is already removed\)/);

  const refused = new FakeCluster(() => ({
    requestId: 'r',
    ok: false,
    outcome: 'refused',
    code: 'no-quorum',
    reason: 'no quorum: 1 of 3 nodes reachable, 2 needed',
    latencyMs: 1,
  }));
  await assert.rejects(
    removeOn(context(refused), 2),
    (err) =>
      err instanceof OutcomeError &&
      /was not chosen: no quorum: 1 of 3 nodes reachable, 2 needed \(node-1\); node-2 is still a voter; nothing changed$/.test(
        err.message,
      ),
  );
  assert.deepEqual(refused.calls, ['reconfigure via node-1 from epoch 0 to 1,3']);
});

test('an unknown outcome whose change the replicas have applied after all is a success', async () => {
  let cluster: FakeCluster | null = null;
  cluster = new FakeCluster((body) => {
    // The change is chosen, but the answer is lost on the way back.
    cluster!.membership = { epoch: 1, voters: body.voters as number[], startSlot: 61 };
    return {
      requestId: 'r',
      ok: false,
      outcome: 'unknown',
      code: 'timeout',
      reason: 'no answer within 2000 ms',
      latencyMs: 1,
    };
  });
  const result = await removeOn(context(cluster), 2);
  assert.deepEqual(result, { op: 'remove', node: 2, epoch: 1, fromSlot: 61, voters: [1, 3] });
  assert.deepEqual(cluster.calls.slice(-1), ['remove-replica node-2']);
});

test('remove of a learner (an add left unknown) stops it and marks it removed, with no configuration change', async () => {
  const cluster = new FakeCluster(() => Promise.reject(new Error('no change must be proposed')));
  await cluster.addLearner();
  const ctx = context(cluster);
  const result = await removeOn(ctx, 4);
  assert.deepEqual(cluster.calls, ['add-learner node-4', 'remove-replica node-4']);
  assert.deepEqual(result, { op: 'remove', node: 4, epoch: 0, fromSlot: 1, voters: [1, 2, 3] });
  assert.deepEqual(ctx.lines, [
    'node-4 was a learner, not a voter: stopped and marked removed; the configuration is unchanged (epoch 0)',
  ]);
});
