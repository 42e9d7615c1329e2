/**
 * A live trace part (trace/live.ts): each event is on file as soon as it is
 * recorded, with no close or flush (a SIGKILL loses none); a capped part stops with one note and one log line; message ids name
 * their sender and do not repeat across a replica's incarnations.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PartWriter, ReplicaTraceLog } from '../../src/trace/live.js';
import { parsePart } from '../../src/trace/merge.js';

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-live-part-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('each event is on file once written, before any flush or close, and a capped part ends with one note and one log line', () =>
  withDir((dir) => {
    const file = join(dir, 'node-1.trace.jsonl');
    const logged: string[] = [];
    const w = new PartWriter(
      file,
      (l) => logged.push(l),
      () => 5,
      { events: 3, bytes: 1 << 20 },
    );
    w.write({ ev: 'restart', node: 1 });
    assert.deepEqual(
      parsePart(existsSync(file) ? readFileSync(file, 'utf8') : '').events.map((e) => e.ev),
      ['restart'],
      'the event is on file before any flush',
    );
    for (let i = 0; i < 10; i++) w.write({ ev: 'persist', node: 1, what: `promise ${i}.1` });
    w.close();
    const { events, skipped } = parsePart(readFileSync(file, 'utf8'));
    assert.equal(skipped, 0);
    assert.deepEqual(
      events.map((e) => e.ev),
      ['restart', 'persist', 'persist', 'note'],
    );
    assert.match((events[3] as { text: string }).text, /^stopped tracing after 3 events/);
    assert.equal(logged.length, 1);
    assert.equal(w.active, false);
  }));

test('message ids carry the sender and the incarnation, so two lives of one replica never share one', () =>
  withDir((dir) => {
    const m = { from: 2, to: 1, type: 'accept' };
    const first = new ReplicaTraceLog(2, 1, new PartWriter(join(dir, 'a'), undefined, () => 0));
    const second = new ReplicaTraceLog(2, 2, new PartWriter(join(dir, 'b'), undefined, () => 0));
    const other = new ReplicaTraceLog(3, 1, new PartWriter(join(dir, 'c'), undefined, () => 0));
    const ids = [first.sent(m), first.sent(m), second.sent(m), other.sent({ ...m, from: 3 })];
    assert.equal(new Set(ids).size, 4);
    assert.deepEqual(
      ids.map((id) => id % 128),
      [2, 2, 2, 3],
    );
    assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0));
    for (const t of [first, second, other]) t.close();
  }));
