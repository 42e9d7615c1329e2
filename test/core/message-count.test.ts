/**
 * The 000 article's promise: a stable Multi-Paxos leader skips phase 1, so it
 * needs about half the messages per chosen value that Basic Paxos does
 * (prepare, promise, accept, accepted and a decide for Basic; accept and
 * accepted for Multi), and fewer still when accepts are batched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BasicPaxos } from '../../src/core/basic.js';
import type { BasicMessage } from '../../src/core/basic-messages.js';
import { MultiPaxos } from '../../src/core/multi.js';
import type { MultiMessage } from '../../src/core/multi-messages.js';
import type { Command, ProtocolCore } from '../../src/core/types.js';

type Msg = MultiMessage | BasicMessage;

/** Cores over an instant, lossless network; counts every message sent. */
class Bench {
  sent = 0;
  chosen = 0;
  private readonly pool: Msg[] = [];
  private seq = 0;
  constructor(readonly cores: ProtocolCore<Msg, unknown>[]) {}

  step(id: number, input: Parameters<ProtocolCore<Msg, unknown>['step']>[0]): void {
    this.cores[id - 1]!.step(input);
    const ready = this.cores[id - 1]!.ready();
    this.sent += ready.messages.length + ready.earlyMessages.length;
    this.pool.push(...ready.earlyMessages, ...ready.messages);
    if (ready.afterPersist !== null) this.step(id, { type: 'persisted', note: ready.afterPersist });
    if (id === 1) this.chosen += ready.replies.filter((r) => r.ok).length;
  }

  propose(id: number, command: Command): void {
    this.step(id, { type: 'request', request: { requestId: `r${++this.seq}`, command, identity: { session: "bench", seq: this.seq } } });
  }

  /** Hands the node several requests before taking its Ready, as a busy replica's event loop does. */
  proposeTogether(id: number, commands: readonly Command[]): void {
    const core = this.cores[id - 1]!;
    for (const command of commands.slice(0, -1)) core.step({ type: 'request', request: { requestId: `r${++this.seq}`, command, identity: { session: "bench", seq: this.seq } } });
    this.propose(id, commands[commands.length - 1]!);
  }

  drain(): void {
    for (let i = 0; this.pool.length > 0; i++) {
      assert.ok(i < 1_000_000, 'the network did not quiesce');
      const m = this.pool.shift()!;
      this.step(m.to, { type: 'message', message: m });
    }
  }
}

function cluster(kind: 'multi' | 'basic', n: number): Bench {
  const cores: ProtocolCore<Msg, unknown>[] = [];
  for (let id = 1; id <= n; id++) {
    const config = { id, clusterSize: n, randomSeed: id, electionTimeoutTicks: 10 };
    cores.push(kind === 'multi' ? (new MultiPaxos(config) as ProtocolCore<Msg, unknown>) : new BasicPaxos(config));
  }
  return new Bench(cores);
}

/** Ticks node-1 until it leads, then forgets the election's messages: we measure the stable leader. */
function stableMultiLeader(n: number): Bench {
  const b = cluster('multi', n);
  for (let i = 0; i < 40 && b.cores[0]!.view().role !== 'leader'; i++) {
    b.step(1, { type: 'tick' });
    b.drain();
  }
  assert.equal(b.cores[0]!.view().role, 'leader');
  b.sent = 0;
  return b;
}

for (const n of [3, 5]) {
  test(`${n} replicas: Multi-Paxos sends at most half the messages per chosen value of Basic Paxos`, () => {
    const values = 50;
    const basic = cluster('basic', n);
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
    batched.proposeTogether(1, Array.from({ length: values }, (_, i) => ({ op: 'set' as const, key: `k${i}`, value: String(i) })));
    batched.drain();

    assert.equal(basic.chosen, values);
    assert.equal(multi.chosen, values);
    assert.equal(batched.chosen, values);
    const perBasic = basic.sent / values;
    const perMulti = multi.sent / values;
    const perBatched = batched.sent / values;
    console.log(`n=${n}: messages per chosen value: basic ${perBasic}, multi ${perMulti}, multi batched ${perBatched.toFixed(2)}`);
    assert.equal(perBasic, 5 * (n - 1), 'basic: prepare, promise, accept, accepted and decide to each peer');
    assert.equal(perMulti, 2 * (n - 1), 'multi: accept and accepted to each peer');
    assert.ok(perMulti <= perBasic / 2);
    assert.ok(perBatched < perMulti / 10, 'fifty concurrent values ride in one accept per peer');
  });
}
