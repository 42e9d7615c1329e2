import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster } from '../support/cluster.js';

test('a 3-replica multi cluster decides x=7 and every replica applies it', async () => {
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi' });
  try {
    const leader = await cluster.leader();
    const r = await cluster.propose(leader, 'x', '7');
    assert.equal(r.ok, true, JSON.stringify(r));
    for (let id = 1; id <= 3; id++) {
      const deadline = Date.now() + 5000;
      let kv: [string, string][] = [];
      while (Date.now() < deadline) {
        kv = await cluster.kv(id);
        if (kv.length > 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.deepEqual(kv, [['x', '7']]);
    }
  } finally {
    await cluster.stop();
  }
});
