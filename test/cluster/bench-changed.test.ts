/**
 * A benchmark run during which the cluster changed gives no result row: the
 * figures are "after minus before" of the replicas' counters, and a replica
 * that stopped answering or restarted (counters back at zero) made them
 * negative (-11.15 messages per value from a cluster that died mid-run).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedDuring } from '../../src/cli/services/bench.js';
import type { ReplicaStatus } from '../../src/node/events.js';

const status = (node: number, o: Partial<ReplicaStatus> = {}): ReplicaStatus =>
  ({
    node,
    pid: 100 + node,
    port: 1,
    view: {} as never,
    messagesIn: 10,
    messagesOut: 10,
    fsyncs: 5,
    rssBytes: 1,
    uptimeMs: 1000,
    ...o,
  }) as ReplicaStatus;

test('a steady cluster has not changed', () => {
  assert.equal(
    changedDuring(
      [status(1), status(2)],
      [status(1, { messagesOut: 50, fsyncs: 9, uptimeMs: 2000 }), status(2, { uptimeMs: 2000 })],
    ),
    null,
  );
});

test('a replica that stopped answering or restarted is named', () => {
  assert.equal(changedDuring([status(1), status(2)], [status(1)]), 'node-2 stopped answering');
  assert.equal(changedDuring([status(1), status(2)], []), 'node-1 stopped answering, node-2 stopped answering');
  assert.equal(changedDuring([status(1)], [status(1, { pid: 999 })]), 'node-1 restarted');
  assert.equal(changedDuring([status(1)], [status(1, { messagesOut: 3, uptimeMs: 5 })]), 'node-1 restarted');
});
