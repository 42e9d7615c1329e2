/**
 * node-1 of a 3-replica cluster is SIGKILLed and restarted 8 times while
 * proposals keep flowing through node-2 and node-3. Before each kill the
 * test reads the ballot node-1 has durably promised; right after each restart
 * node-1 must still promise at least that much (a promise survives a crash at
 * any instant). Every acknowledged value ends up on all replicas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Ballot, compareBallots, formatBallot } from '../../src/core/ballot.js';
import type { Protocol } from '../../src/core/types.js';
import { eventually, sleep, TestCluster } from '../support/cluster.js';

const KILLS = 8;

/** Proposes through one replica, one at a time, until told to stop, noting in `acked` what was acknowledged. */
async function writer(
  c: TestCluster,
  via: number,
  o: { stop: { now: boolean }; acked: Map<string, string> },
): Promise<void> {
  const { stop, acked } = o;
  for (let n = 0; !stop.now && n < 100_000; n++) {
    const key = `w${via}-${n}`;
    const r = await c.propose(via, key, String(n), 5000);
    if (r.ok) {
      assert.equal(r.value, String(n), `${key} acknowledged with another value: ${JSON.stringify(r)}`);
      acked.set(key, String(n));
    } else {
      await sleep(20); // While node-1 is down a refusal can come back at once; do not spin.
    }
  }
}

/** A replica's durable promise once it has promised anything (values are being decided, so it will), or null. */
async function promisedSomething(c: TestCluster, node: number): Promise<Ballot | null> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const b = await c.promised(node);
    if (b !== null && b.round > 0) return b;
    await sleep(50);
  }
  return null;
}

/** One kill of node-1: its durable promise is read just before, and must not have gone back just after the restart. */
async function killAndCheckPromise(c: TestCluster, round: number): Promise<void> {
  await sleep(100 + 50 * (round % 4));
  const before = await promisedSomething(c, 1);
  assert.ok(before !== null, `round ${round}: node-1 promised nothing while values were being decided`);
  c.kill(1);
  await c.waitDown(1);
  await c.restart(1);
  const after: Ballot | null = await c.promised(1);
  assert.ok(after !== null, `round ${round}: node-1 did not answer after its restart`);
  assert.ok(
    compareBallots(after, before) >= 0,
    `round ${round}: node-1 promised ${formatBallot(before)} before the kill and ${formatBallot(after)} after it`,
  );
}

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: a replica SIGKILLed ${KILLS} times while others write never breaks a promise nor loses a value`, async () => {
    const c = await TestCluster.start({ nodes: 3, protocol });
    try {
      const stop = { now: false };
      const acked = new Map<string, string>();
      const writers = [writer(c, 2, { stop, acked }), writer(c, 3, { stop, acked })];
      // A writer's failed assertion is reported where it is awaited below, not as an unhandled rejection meanwhile.
      for (const w of writers) w.catch(() => undefined);
      let ackedBeforeKills = 0;
      try {
        assert.ok(
          await eventually(() => acked.size > 0, 15_000),
          'the writers got nothing acknowledged before the first kill',
        );
        ackedBeforeKills = acked.size;
        for (let round = 0; round < KILLS; round++) await killAndCheckPromise(c, round);
      } finally {
        // Whatever happened above, the writers must stop before the cluster does.
        stop.now = true;
        await Promise.allSettled(writers);
      }
      for (const w of writers) await w;
      assert.ok(acked.size > ackedBeforeKills, 'nothing was acknowledged while node-1 was being killed');
      // The restarted node-1 takes proposals itself too.
      if (protocol === 'multi')
        assert.ok(await eventually(() => c.knowsLeader(1), 15_000), 'node-1 never learned a leader');
      const last = await c.propose(1, 'last', 'ok', 10_000);
      assert.ok(last.ok, `via node-1 after the kills: ${JSON.stringify(last)}`);
      assert.ok(await eventually(() => c.converged(), 20_000), 'the replicas did not converge');
      for (const id of c.ids()) {
        const kv = new Map(await c.kv(id));
        for (const [k, v] of acked) assert.equal(kv.get(k), v, `node-${id} lost acknowledged ${k}=${v}`);
      }
      console.log(
        `${protocol}: ${KILLS} kills of node-1, ${acked.size} values acknowledged meanwhile, no promise went back`,
      );
    } finally {
      await c.stop();
    }
  });
}
