/**
 * `paxos replay FILE` on a real run (issue 12): three replicas started with
 * `--trace`, values proposed, a follower SIGKILLed and restarted, more values,
 * the cluster stopped. Replaying the recorded inputs on fresh cores must
 * reproduce every Ready the replicas made, pass the checks across replicas,
 * and end with exactly the values the running cluster reported: every
 * acknowledged value in its slot, every read's answer, every replica's map.
 * The orchestrator runs in the test process (TestCluster), as in live-trace.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReplayReport } from '../../src/replay/replay.js';
import { succeeds } from '../support/cli.js';
import { eventually, type Reply, TestCluster } from '../support/cluster.js';

test('a recorded 3-replica run with a kill and a restart replays exactly, with the values the cluster reported', {
  timeout: 40_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-live-replay-'));
  const file = join(dir, 'run.jsonl');
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi', traceFile: file });
  const acked: string[] = [];
  const propose = async (key: string, value: string) => {
    const reply = await cluster.proposeUntilOk({ via: () => cluster.leader(), key, value });
    assert.ok(reply.ok, `${key}=${value}: ${reply.ok ? '' : reply.error}`);
    acked.push(`${reply.slot} ${key}=${value}`);
  };
  try {
    await propose('x', '1');
    await propose('y', '2');
    await propose('z', '3');
    const leader = await cluster.leader();
    const follower = cluster.ids().find((id) => id !== leader)!;
    cluster.kill(follower);
    await cluster.waitDown(follower);
    await propose('x', '4');
    await cluster.restart(follower);
    await propose('y', '5');
    await propose('w', '6');
    const reads = new Map<string, Reply>();
    for (const key of ['x', 'y', 'z', 'w']) reads.set(key, await cluster.get(await cluster.leader(), key));
    assert.ok(await eventually(() => cluster.converged(), 10_000), 'the restarted follower caught up');
    const maps = new Map(
      await Promise.all(cluster.ids().map(async (id) => [id, Object.fromEntries(await cluster.kv(id))] as const)),
    );
    await cluster.stop();

    const report = JSON.parse((await succeeds(dir, 'replay', file, '--json')).stdout) as ReplayReport;
    assert.equal(
      report.ok,
      true,
      JSON.stringify({ divergences: report.divergences, violations: report.checks.violations }),
    );
    assert.deepEqual(report.replicas, [1, 2, 3]);
    assert.equal(
      report.incarnations.filter((i) => i.node === follower).length,
      2,
      'the restart is a second incarnation',
    );
    assert.ok(report.readies > 100 && report.checks.recoveriesChecked === 1);
    const chosen = new Set(report.checks.chosen.map((c) => `${c.instance} ${c.value}`));
    for (const a of acked) assert.ok(chosen.has(a), `acknowledged ${a} is chosen in the replay`);
    for (const [key, r] of reads) {
      assert.ok(r.ok, `get ${key}`);
      assert.ok(chosen.has(`${r.slot} get ${key}`), `the read of ${key} is in slot ${r.slot} of the replay`);
      for (const s of report.state)
        assert.equal(s.kv[key], r.value, `node-${s.node}'s replayed ${key} is what get answered`);
    }
    for (const s of report.state)
      assert.deepEqual(s.kv, maps.get(s.node), `node-${s.node}'s replayed map is the one it served`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
