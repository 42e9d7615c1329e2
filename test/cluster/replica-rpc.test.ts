/**
 * The boundary where a replica's answer reaches the orchestrator: the request
 * goes out as `{op, ...body}`, a well-formed answer comes back as it came
 * (the same object, its keys in their order, the request id included), and a
 * malformed one is one sentence naming the replica, the op and the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORCHESTRATOR_REPLIES } from '../../src/cluster/orchestrator-rpc.js';
import { ReplicaLink } from '../../src/cluster/replica-rpc.js';
import { checkOrThrow } from '../../src/cluster/schemas.js';
import { OperatingError } from '../../src/errors.js';
import type { ControlClient } from '../../src/transport/ws-transport.js';

function answering(reply: unknown, sent: Record<string, unknown>[]): ControlClient {
  return {
    request: async (body) => {
      sent.push(body);
      return reply;
    },
    onEvent: () => undefined,
    onClose: () => undefined,
    close: () => undefined,
  };
}

test('a replica answer is checked where it arrives and passed on as it came', async () => {
  const sent: Record<string, unknown>[] = [];
  const reply = { id: 7, ticks: 2, newlyHeld: 1, held: 3 };
  const link = new ReplicaLink(2, answering(reply, sent));
  assert.equal(await link.request('tick', { count: 2 }, 1000), reply);
  assert.deepEqual(sent, [{ op: 'tick', count: 2 }]);

  const bad = new ReplicaLink(2, answering({ id: 8, messages: 'none', total: 0, droppedFull: 0 }, []));
  await assert.rejects(bad.request('held', {}, 1000), (err: Error) => {
    assert.ok(err instanceof OperatingError);
    assert.match(err.message, /^node-2's answer to held: messages is invalid \(expected Array/);
    return true;
  });
  const noStatus = new ReplicaLink(3, answering({ id: 9, status: { node: 3 } }, []));
  await assert.rejects(
    noStatus.request('status', {}, 1000),
    /^Error: node-3's answer to status: status is invalid \(a replica status: its node, pid and port, and a view with its id, protocol and chosen count, got Object\)$/,
  );
});

test('an orchestrator answer keeps its keys in the order they came, for --json', () => {
  const cluster = {
    protocol: 'multi',
    clusterSize: 1,
    orchestratorPid: 10,
    faults: { dropRate: 0.5, partition: [[1]] },
    replicas: [{ id: 1, port: 4000, pid: null, up: false, isolated: true, status: null, paused: false }],
  };
  const checked = checkOrThrow(
    ORCHESTRATOR_REPLIES.status,
    { id: 1, cluster },
    'the answer',
    (s) => new OperatingError(s),
  );
  assert.equal(JSON.stringify(checked.cluster), JSON.stringify(cluster));
  assert.throws(
    () =>
      checkOrThrow(
        ORCHESTRATOR_REPLIES['kill-all'],
        { ok: true, nodes: ['1'] },
        'the answer to kill-all',
        (s) => new OperatingError(s),
      ),
    /^Error: the answer to kill-all: nodes\[0\] is invalid \(expected number, got "1"\)$/,
  );
});
