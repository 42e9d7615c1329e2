/** The in-memory twin behaves as the file log would across a restart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, MAX_RECORD_BYTES } from '../../src/storage/file-storage.js';
import { MemoryStorage } from '../../src/storage/storage.js';

test('the twin recovers its initial records and keeps every append in order', async () => {
  const storage = new MemoryStorage<{ n: number }>([{ n: 1 }]);
  assert.deepEqual(storage.recovered, [{ n: 1 }]);
  await storage.append([{ n: 2 }, { n: 3 }]);
  storage.appendLazy([{ n: 4 }]);
  await storage.append([]);
  assert.deepEqual(storage.records.map((r) => r.n), [1, 2, 3, 4]);
  const expectedBytes = [1, 2, 3, 4].reduce((sum, n) => sum + encodeFrame({ n }).length, 0);
  assert.deepEqual(storage.stats(), { records: 4, bytes: expectedBytes, fsyncs: 1, appends: 2, checkpoints: 0 });
});

test('the twin stores what JSON gives back, not the caller\'s object', async () => {
  const storage = new MemoryStorage<Record<string, unknown>>();
  const record: Record<string, unknown> = { t: 'accept', dropped: undefined, at: new Date(0) };
  await storage.append([record]);
  record.t = 'changed afterwards';
  assert.deepEqual(storage.records, [{ t: 'accept', at: '1970-01-01T00:00:00.000Z' }]);
});

test('the twin refuses what the file log refuses: a closed log, an oversized record', async () => {
  const storage = new MemoryStorage<{ pad: string }>();
  await assert.rejects(storage.append([{ pad: 'x'.repeat(MAX_RECORD_BYTES) }]), RangeError);
  assert.deepEqual(storage.records, []);
  await storage.close();
  await assert.rejects(storage.append([{ pad: '' }]), /closed/);
});
