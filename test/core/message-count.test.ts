/**
 * The 000 article's promise: a stable Multi-Paxos leader skips phase 1, so it
 * needs about half the messages per chosen value that Basic Paxos does
 * (prepare, promise, accept, accepted and a decide for Basic; accept and
 * accepted for Multi), and fewer still when accepts are batched.
 *
 * The figures are counted from what real replica shells send (the `Replica`
 * a process runs), over scripted twins: instant storage and a lossless
 * network the test drains message by message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command, Protocol } from '../../src/core/types.js';
import type { PeerMessage } from '../../src/node/replica.js';
import { ScriptedNode } from '../../src/scenario/twins.js';

/** Shells over an instant, lossless network; counts every message sent and every value node-1 reports chosen. */
class Bench {
  sent = 0;
  chosen = 0;
  readonly nodes: ScriptedNode[] = [];
  private readonly pool: PeerMessage[] = [];
  private seq = 0;

  constructor(protocol: Protocol, n: number) {
    for (let id = 1; id <= n; id++) {
      this.nodes.push(
        new ScriptedNode({
          id,
          clusterSize: n,
          protocol,
          incarnation: 1,
          disk: [],
          electionTimeoutTicks: 10,
          send: (m) => {
            this.sent++;
            this.pool.push(m);
          },
        }),
      );
    }
  }

  propose(id: number, command: Command): void {
    this.proposeTogether(id, [command]);
  }

  /** Hands the node several requests before its next turn: the shell steps them all and takes one Ready, as under load. */
  proposeTogether(id: number, commands: readonly Command[]): void {
    const node = this.nodes[id - 1];
    for (const command of commands) {
      // The node's own session, as for a client that brings none (an unregistered name would be refused).
      node.request(command, { session: `node-${id}.1`, seq: ++this.seq }, (reply) => {
        if (reply.ok) this.chosen++;
      });
    }
    node.settle();
  }

  tick(id: number): void {
    this.nodes[id - 1].tick();
  }

  role(id: number): string {
    return this.nodes[id - 1].replica.inspectCore().view().role;
  }

  /** Delivers one message at a time, each followed by the receiver's turns, until nothing is in flight. */
  drain(): void {
    for (let i = 0; this.pool.length > 0; i++) {
      assert.ok(i < 1_000_000, 'the network did not quiesce');
      const m = this.pool.shift()!;
      this.nodes[m.to - 1]!.deliver(m);
    }
  }
}

/** Ticks node-1 until it leads, then forgets the election's messages: we measure the stable leader. */
function stableMultiLeader(n: number): Bench {
  const b = new Bench('multi', n);
  for (let i = 0; i < 40 && b.role(1) !== 'leader'; i++) {
    b.tick(1);
    b.drain();
  }
  assert.equal(b.role(1), 'leader');
  b.sent = 0;
  return b;
}

for (const n of [3, 5]) {
  test(`${n} replicas: Multi-Paxos sends at most half the messages per chosen value of Basic Paxos`, () => {
    const values = 50;
    const basic = new Bench('basic', n);
    for (let i = 0; i < values; i++) {
      basic.propose(1, { op: 'set', key: `k${i}`, value: String(i) });
      basic.drain();
    }
    const multi = stableMultiLeader(n);
    for (let i = 0; i < values; i++) {
      multi.propose(1, { op: 'set', key: `k${i}`, value: String(i) });
      multi.drain();
    }
    const batched = stableMultiLeader(n);
    batched.proposeTogether(
      1,
      Array.from({ length: values }, (_, i) => ({ op: 'set' as const, key: `k${i}`, value: String(i) })),
    );
    batched.drain();

    assert.equal(basic.chosen, values);
    assert.equal(multi.chosen, values);
    assert.equal(batched.chosen, values);
    const perBasic = basic.sent / values;
    const perMulti = multi.sent / values;
    const perBatched = batched.sent / values;
    console.log(
      `n=${n}: messages per chosen value: basic ${perBasic}, multi ${perMulti}, multi batched ${perBatched.toFixed(2)}`,
    );
    assert.equal(perBasic, 5 * (n - 1), 'basic: prepare, promise, accept, accepted and decide to each peer');
    assert.equal(perMulti, 2 * (n - 1), 'multi: accept and accepted to each peer');
    assert.ok(perMulti <= perBasic / 2);
    assert.ok(perBatched < perMulti / 10, 'fifty concurrent values ride in one accept per peer');
  });
}
