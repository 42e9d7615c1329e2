/**
 * A live trace keeps what a SIGKILLed replica did up to its death: the
 * leader is killed the moment its client has the answer, and the merged
 * trace still holds its accepts for that value, and every delivery at the
 * survivors has its send (no orphan arrows, no footnote explaining them).
 * With parts buffered for 200 ms, the leader's last accepts were lost and
 * the followers' deliveries of them were left out as orphans.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTrace, type TraceEvent } from '../../src/trace/format.js';
import { TestCluster } from '../support/cluster.js';

type Send = Extract<TraceEvent, { ev: 'send' }>;

test('a leader killed with SIGKILL right after its answer: its accepts are in the trace and no delivery is an orphan', {
  timeout: 40_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-trace-kill-'));
  const file = join(dir, 'run.jsonl');
  const cluster = await TestCluster.start({ nodes: 3, protocol: 'multi', traceFile: file });
  try {
    const first = await cluster.proposeUntilOk({ via: () => cluster.leader(), key: 'x', value: '1' });
    assert.ok(first.ok);
    const leader = await cluster.leader();
    const last = await cluster.propose(leader, 'y', '2', 5000);
    assert.ok(last.ok, last.ok ? '' : last.error);
    cluster.kill(leader);
    await cluster.waitDown(leader);
    await cluster.stop();

    const events = readTrace(readFileSync(file, 'utf8'), file);
    const accepts = events.filter(
      (e): e is Send => e.ev === 'send' && e.from === leader && e.type === 'accept' && e.value === 'y=2',
    );
    assert.ok(accepts.length >= 1, `node-${leader}'s accepts of y=2 are in the trace`);
    assert.ok(
      events.some((e) => e.ev === 'crash' && e.node === leader),
      'the kill is in the trace',
    );
    const leftOut = events.filter((e) => e.ev === 'note' && /left out/.test(e.text));
    assert.deepEqual(leftOut, [], 'every delivery and drop has its send');
  } finally {
    await cluster.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
