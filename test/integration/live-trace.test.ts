/**
 * `paxos up --trace FILE` on real processes: three replicas record their
 * parts while values are proposed, a follower is killed and restarted, and
 * stopping the cluster merges the parts into FILE. The merged trace must be
 * valid (readTrace: seq in order, every delivery and drop after a send of
 * that id, to its addressee), hold every acknowledged value as `chosen`, show
 * the crash and the restart, and be summarized and drawn by `paxos trace`.
 * The orchestrator runs in the test process (TestCluster), which is what
 * `paxos up` runs too; the CLI's flag was tried by hand with --detach.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTrace, type TraceEvent } from '../../src/trace/format.js';
import { succeeds } from '../support/cli.js';
import { type Reply, TestCluster } from '../support/cluster.js';

type Chosen = Extract<TraceEvent, { ev: 'chosen' }>;

test('a traced 3-replica run merges into one valid trace with every acknowledged value chosen', {
  timeout: 40_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-live-trace-'));
  const file = join(dir, 'run.jsonl');
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi', traceFile: file });
  const acked: { key: string; value: string; reply: Reply }[] = [];
  const propose = async (key: string, value: string) => {
    const reply = await cluster.proposeUntilOk({ via: () => cluster.leader(), key, value });
    assert.ok(reply.ok, `${key}=${value}: ${reply.ok ? '' : reply.error}`);
    acked.push({ key, value, reply });
  };
  try {
    await propose('x', '1');
    await propose('y', '2');
    const follower = cluster
      .ids()
      .find((id) => id !== cluster.status().replicas.find((r) => r.status?.view.role === 'leader')?.id)!;
    cluster.kill(follower);
    await cluster.waitDown(follower);
    await propose('x', '3');
    await cluster.restart(follower);
    await propose('z', '4');
    // Before the cluster stops, the parts directory is readable as it stands.
    assert.match((await succeeds(dir, 'trace', `${file}.parts`)).stdout, /^replicas: node-1, node-2, node-3$/m);
    await cluster.stop();

    assert.ok(existsSync(file), 'stopping the cluster wrote the merged trace');
    const events = readTrace(readFileSync(file, 'utf8'), file);
    assert.ok(
      events.some((e) => e.ev === 'send') &&
        events.some((e) => e.ev === 'deliver') &&
        events.some((e) => e.ev === 'persist'),
    );
    const chosen = new Set(events.filter((e): e is Chosen => e.ev === 'chosen').map((e) => `${e.instance} ${e.value}`));
    for (const a of acked) {
      const slot = a.reply.ok ? a.reply.slot : undefined;
      assert.ok(chosen.has(`${slot} ${a.key}=${a.value}`), `slot ${slot} ${a.key}=${a.value} is chosen in the trace`);
    }
    assert.ok(
      events.some((e) => e.ev === 'crash' && e.node === follower),
      'the kill is a crash',
    );
    assert.ok(
      events.some((e) => e.ev === 'restart' && e.node === follower),
      'the restart from data is a restart',
    );

    const summary = await succeeds(dir, 'trace', file);
    assert.match(summary.stdout, /^replicas: node-1, node-2, node-3$/m);
    assert.match(summary.stdout, /^chosen \(4\):$/m);
    const svg = await succeeds(dir, 'trace', file, '--svg', join(dir, 'run.svg'));
    assert.match(svg.stdout, /wrote the space-time diagram/);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
