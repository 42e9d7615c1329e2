/**
 * Real replica processes on loopback, crashed for real (SIGKILL), for both
 * protocols. No timing assertions: deadlines are generous and conditions are
 * polled. Every cluster is stopped in a finally.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBallots, type Ballot } from '../../src/core/ballot.js';
import type { Protocol } from '../../src/core/types.js';
import { eventually, sleep, TestCluster, type Reply } from '../support/cluster.js';

async function withCluster(nodes: number, protocol: Protocol, body: (c: TestCluster) => Promise<void>): Promise<void> {
  const cluster = await TestCluster.start({ nodes, protocol });
  try {
    await body(cluster);
  } finally {
    await cluster.stop();
  }
}

/** The replica to send to: the leader in multi mode, any live one in basic. */
async function entry(c: TestCluster, protocol: Protocol, fallback: number): Promise<number> {
  return protocol === 'multi' ? c.leader(10_000) : fallback;
}

async function converged(c: TestCluster, nodes: number[]): Promise<boolean> {
  const dumps = await Promise.all(nodes.map((id) => c.kv(id).catch(() => null)));
  return dumps.every((d) => d !== null && JSON.stringify(d) === JSON.stringify(dumps[0]));
}

async function promisedOf(c: TestCluster, node: number): Promise<Ballot | null> {
  const r = (await c.request(node, { op: 'status' }, 3000)) as unknown as { status?: { view: { promised: Ballot } } };
  return r.status?.view.promised ?? null;
}

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: 5 replicas decide x=7; 2 of 5 down still decide; 3 of 5 down refuse for want of a quorum; restarted replicas converge`, async () => {
    await withCluster(5, protocol, async (c) => {
      const first = await c.propose(await entry(c, protocol, 1), 'x', '7');
      assert.equal(first.ok, true, JSON.stringify(first));
      if (protocol === 'basic') {
        const again = await c.propose(2, 'x', '9');
        assert.ok(again.ok && again.value === '7' && again.alreadyChosen === true, `x is chosen for good: ${JSON.stringify(again)}`);
      }
      c.kill(4);
      c.kill(5);
      await c.waitDown(4);
      await c.waitDown(5);
      const withThree = await c.propose(await entry(c, protocol, 1), 'y', '1', 10_000);
      assert.equal(withThree.ok, true, `3 of 5 is a majority: ${JSON.stringify(withThree)}`);
      c.kill(3);
      await c.waitDown(3);
      const withTwo = await c.propose(protocol === 'multi' ? 1 : 2, 'z', '1', 8000);
      assert.equal(withTwo.ok, false, 'two of five must not decide');
      assert.match((withTwo as { error: string }).error, /quorum|timed out/);
      for (const id of [3, 4, 5]) await c.restart(id);
      const after = await c.propose(await entry(c, protocol, 3), 'w', '1', 10_000);
      assert.equal(after.ok, true, JSON.stringify(after));
      assert.ok(await eventually(() => converged(c, [1, 2, 3, 4, 5]), 15_000), 'every replica should hold the same values');
      const kv = new Map(await c.kv(5));
      assert.equal(kv.get('x'), '7');
      assert.equal(kv.get('y'), '1');
      assert.equal(kv.get('w'), '1');
    });
  });

  test(`${protocol}: a replica SIGKILLed in the middle of 200 concurrent proposals loses none that were acknowledged`, async () => {
    await withCluster(5, protocol, async (c) => {
      const target = await entry(c, protocol, 1);
      const acked = new Map<string, string>();
      let replies = 0;
      const sends: Promise<Reply>[] = [];
      // Twenty waves of ten, so the kill lands while proposals are still arriving and in flight.
      const waves = (async () => {
        for (let i = 0; i < 200; i++) {
          const p = c.propose(target, `k${i}`, `v${i}`, 10_000);
          sends.push(p);
          void p.then((r) => {
            replies++;
            if (r.ok) acked.set(`k${i}`, `v${i}`);
          });
          if (i % 10 === 9) await sleep(5);
        }
      })();
      await eventually(() => replies >= 50, 10_000, 1);
      c.kill(target);
      await waves;
      await Promise.all(sends);
      await c.waitDown(target);
      await c.restart(target);
      const all = [1, 2, 3, 4, 5];
      assert.ok(await eventually(() => converged(c, all), 20_000), 'replicas did not converge after the restart');
      for (const id of all) {
        const kv = new Map(await c.kv(id));
        for (const [k, v] of acked) assert.equal(kv.get(k), v, `node-${id} lost acknowledged ${k}=${v}`);
      }
      console.log(`${protocol}: ${acked.size} of 200 acknowledged before/after the kill, all present on every replica`);
    });
  });

  test(`${protocol}: a minority partition cannot decide while the majority can; after heal all converge`, async () => {
    await withCluster(5, protocol, async (c) => {
      assert.equal((await c.propose(await entry(c, protocol, 1), 'before', '1')).ok, true);
      c.orchestrator.partition([[1, 2], [3, 4, 5]]);
      const minority = await c.propose(1, 'm', '1', 4000);
      assert.equal(minority.ok, false, 'the minority side decided');
      let majority: Reply = { requestId: '', ok: false, error: 'not tried' };
      for (let attempt = 0; attempt < 5 && !majority.ok; attempt++) majority = await c.propose(4, 'M', '1', 5000);
      assert.equal(majority.ok, true, `the majority side could not decide: ${JSON.stringify(majority)}`);
      c.orchestrator.heal();
      assert.ok(await eventually(async () => (await c.propose(await entry(c, protocol, 2), 'after', '1', 5000)).ok, 20_000));
      assert.ok(await eventually(() => converged(c, [1, 2, 3, 4, 5]), 20_000), 'no convergence after heal');
      const kv = new Map(await c.kv(1));
      assert.equal(kv.get('M'), '1');
    });
  });

  test(`${protocol}: a replica SIGKILLed in a loop while writing never breaks a promise`, async () => {
    await withCluster(3, protocol, async (c) => {
      let stop = false;
      const acked = new Map<string, string>();
      let n = 0;
      const writer = (async () => {
        while (!stop) {
          const key = `w${n++}`;
          const via = protocol === 'multi' ? (await c.leader(10_000).catch(() => 2)) : 2 + (n % 2);
          const r = await c.propose(via === 1 ? 2 : via, key, String(n), 3000);
          if (r.ok) acked.set(key, String(n));
          else await sleep(20); // A refusal comes back at once; do not spin.
        }
      })();
      try {
        for (let round = 0; round < 8; round++) {
          await sleep(150);
          const before = await promisedOf(c, 1);
          c.kill(1);
          await c.waitDown(1);
          await c.restart(1);
          const afterRestart = await promisedOf(c, 1);
          assert.ok(before !== null && afterRestart !== null);
          assert.ok(compareBallots(afterRestart!, before!) >= 0, `node-1 came back promising ${JSON.stringify(afterRestart)} after promising ${JSON.stringify(before)}`);
        }
      } finally {
        // Whatever happened above, the writer must stop, or the test never ends.
        stop = true;
        await writer;
      }
      assert.ok(acked.size > 0, 'nothing was acknowledged while node-1 was being killed');
      assert.ok(await eventually(() => converged(c, [1, 2, 3]), 20_000));
      const kv = new Map(await c.kv(1));
      for (const [k, v] of acked) assert.equal(kv.get(k), v, `node-1 lost ${k}`);
      console.log(`${protocol}: 8 kills of node-1, ${acked.size} values acknowledged meanwhile, promises never went back`);
    });
  });
}
