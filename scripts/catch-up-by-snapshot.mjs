#!/usr/bin/env node
// Usage: npm run build && node scripts/catch-up-by-snapshot.mjs [values]
// Measures what the README reports: a replica of a 3-replica Multi-Paxos cluster is cut off and killed,
// `values` (default 100,000) are chosen without it, and it is restarted; it catches up by installing a
// snapshot from a peer. Prints the time that took and the sizes of the data directories.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirOf, logFileOf } from '../dist/src/cluster/home.js';
import { eventually, TestCluster } from '../dist/test/support/cluster.js';

const N = Number(process.argv[2] ?? 100000),
  IN_FLIGHT = 64;
const dirBytes = (d) => readdirSync(d).reduce((s, f) => s + statSync(join(d, f)).size, 0);
const c = await TestCluster.start({ nodes: 3, protocol: 'multi' });
try {
  const leader = await c.leader(10000);
  const lagging = leader === 3 ? 2 : 3;
  c.orchestrator.isolate(lagging);
  c.kill(lagging);
  await c.waitDown(lagging);
  const t0 = performance.now();
  let next = 0,
    failed = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const r = await c.proposeUntilOk({ via: () => leader, key: `k${i % 1000}`, value: `v${i}`, deadlineMs: 60000 });
      if (!r.ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${N} values chosen with node-${lagging} down in ${s.toFixed(1)} s (${Math.round(N / s)}/s), ${failed} failed`,
  );
  for (const n of [1, 2, 3])
    console.log(
      `node-${n} data: ${dirBytes(dataDirOf(c.home, n))} bytes (${readdirSync(dataDirOf(c.home, n)).join(', ')})`,
    );
  const t1 = performance.now();
  await c.restart(lagging);
  c.orchestrator.heal();
  const ok = await eventually(() => c.converged(), 120000, 200);
  console.log(
    `node-${lagging} ${ok ? 'caught up' : 'did NOT catch up'} in ${((performance.now() - t1) / 1000).toFixed(2)} s after its restart`,
  );
  await eventually(() => /installed a snapshot/.test(readFileSync(logFileOf(c.home, lagging), 'utf8')), 5000);
  console.log(
    readFileSync(logFileOf(c.home, lagging), 'utf8')
      .split('\n')
      .filter((l) => /snapshot|recovered/.test(l))
      .slice(0, 4)
      .join('\n'),
  );
  console.log(`node-${lagging} data after: ${dirBytes(dataDirOf(c.home, lagging))} bytes`);
} finally {
  await c.stop();
}
