/**
 * Compaction on real processes: replicas that snapshot every 50 slots keep
 * a short log, and a replica that was down while hundreds of values were
 * chosen (slots its peers have compacted away) catches up by installing a
 * snapshot from a peer, streamed in parts, then restarts from its own
 * snapshot with the same state. No timing assertions; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataDirOf, logFileOf } from '../../src/cluster/home.js';
import { decodeLog } from '../../src/storage/frame.js';
import { eventually, TestCluster } from '../support/cluster.js';

const VALUES = 400;
const IN_FLIGHT = 20;

test('multi: a replica down while 400 values were chosen catches up by snapshot, and restarts from its own', async () => {
  const c = await TestCluster.start({ nodes: 3, protocol: 'multi', snapshotEverySlots: 50 });
  try {
    const entry = await c.entry(1);
    const lagging = entry === 3 ? 2 : 3;
    // Cut off first, so its peers drop what they send it rather than queue it for the redial: a replica down
    // for long finds its peers' backlogs long gone, and a few hundred values must not fit in one.
    c.orchestrator.isolate(lagging);
    c.kill(lagging);
    await c.waitDown(lagging);
    for (let i = 0; i < VALUES; i += IN_FLIGHT) {
      const batch = Array.from({ length: IN_FLIGHT }, (_, j) =>
        c.proposeUntilOk({
          via: () => c.entry(entry),
          key: `k${(i + j) % 25}`,
          value: `v${i + j}`,
          deadlineMs: 20_000,
        }),
      );
      for (const r of await Promise.all(batch)) assert.ok(r.ok, JSON.stringify(r));
    }
    // The live replicas compacted: a snapshot beside a log far shorter than 400 values.
    assert.ok(existsSync(join(dataDirOf(c.home, entry), 'snapshot')), 'the entry replica wrote a snapshot');
    await c.restart(lagging);
    c.orchestrator.heal();
    assert.ok(await eventually(() => c.converged(), 30_000), 'the lagging replica caught up');
    // The log reaches its file through the orchestrator's pipe, a moment after the replica wrote it.
    const logSays = (re: RegExp) => eventually(() => re.test(readFileSync(logFileOf(c.home, lagging), 'utf8')), 10_000);
    assert.ok(
      await logSays(/installed a snapshot at slot \d+ from node-\d/),
      'it caught up by snapshot, not by replaying the log',
    );
    // Its own restart now starts from the snapshot it installed and compacted to.
    c.kill(lagging);
    await c.waitDown(lagging);
    await c.restart(lagging);
    assert.ok(await eventually(() => c.converged(), 30_000), 'the same state after its restart');
    assert.ok(await logSays(/on top of a snapshot at slot \d+/), 'it restarted from its own snapshot');
    // The records' bytes, not the file's: the file also holds the zeros preallocated ahead of them.
    const wal = join(dataDirOf(c.home, entry), 'wal.log');
    const walBytes = decodeLog(readFileSync(wal), wal).validBytes;
    assert.ok(walBytes < 64 * 1024, `the entry replica's log was compacted (${walBytes} bytes)`);
  } finally {
    await c.stop();
  }
});
