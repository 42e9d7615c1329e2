/**
 * The record log must never come back with less than was acknowledged:
 * every crash point of a write, every truncation and every single-bit flip of
 * the last record either keeps every acknowledged record or refuses to start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { encodeFrame, openFileStorage, StorageCorruptError, StorageLockedError } from '../../src/storage/file-storage.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'paxos-wal-'));
  dirs.push(d);
  return d;
}

const acked = [{ t: 'promise', ballot: { round: 1, node: 2 } }, { t: 'accept', slot: 1, v: 'x=7' }, { t: 'round', round: 4 }];
const last = { t: 'accept', slot: 2, v: 'y=8' };

/** A log holding the acknowledged records followed by `tail` bytes of a last frame. */
function logWith(tail: Buffer): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'wal.log'), Buffer.concat([...acked.map(encodeFrame), tail]));
  return dir;
}

async function recover(dir: string): Promise<unknown[]> {
  const s = await openFileStorage({ dir });
  const records = [...s.recovered];
  await s.close();
  return records;
}

test('records survive close and reopen, and concurrent appends share fsyncs (group commit)', async () => {
  const dir = tempDir();
  const s = await openFileStorage<{ n: number }>({ dir });
  await Promise.all(Array.from({ length: 200 }, (_, n) => s.append([{ n }])));
  const { fsyncs, appends } = s.stats();
  console.log(`group commit: ${appends} appends, ${fsyncs} fsyncs`);
  assert.ok(fsyncs < appends / 2, `${fsyncs} fsyncs for ${appends} appends`);
  await s.close();
  const again = await openFileStorage<{ n: number }>({ dir });
  assert.deepEqual(again.recovered.map((r) => r.n), Array.from({ length: 200 }, (_, n) => n));
  await again.close();
});

test('every crash point of a write keeps every acknowledged record', async () => {
  const frame = encodeFrame(last);
  // Before the write; after a partial write; after the write but before fsync; after fsync before the reply.
  for (const tail of [Buffer.alloc(0), frame.subarray(0, 5), frame.subarray(0, frame.length - 1), frame]) {
    const records = await recover(logWith(tail));
    assert.deepEqual(records.slice(0, acked.length), acked);
  }
});

test('every truncation of the last record recovers exactly the acknowledged prefix', async () => {
  const frame = encodeFrame(last);
  for (let cut = 0; cut < frame.length; cut++) {
    const dir = logWith(frame.subarray(0, cut));
    assert.deepEqual(await recover(dir), acked, `cut at ${cut}`);
    const ackedBytes = acked.map(encodeFrame).reduce((n, f) => n + f.length, 0);
    assert.equal(statSync(join(dir, 'wal.log')).size, ackedBytes, 'the torn tail is cut off');
  }
});

test('every bit flip in the last record keeps all acknowledged records or refuses to start', async () => {
  const frame = encodeFrame(last);
  let refused = 0;
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const damaged = Buffer.from(frame);
    damaged[bit >> 3]! ^= 1 << (bit & 7);
    try {
      const records = await recover(logWith(damaged));
      assert.deepEqual(records.slice(0, acked.length), acked, `bit ${bit}`);
    } catch (err) {
      assert.ok(err instanceof StorageCorruptError, `bit ${bit}: ${String(err)}`);
      refused++;
    }
  }
  assert.ok(refused > 0, 'a damaged complete record must be refused, not dropped');
});

test('a zero-filled final record (a file extended but never written) is dropped as torn', async () => {
  const frame = encodeFrame(last);
  assert.deepEqual(await recover(logWith(Buffer.alloc(frame.length))), acked, 'all zero');
  const halfWritten = Buffer.concat([frame.subarray(0, 20), Buffer.alloc(frame.length - 20)]);
  assert.deepEqual(await recover(logWith(halfWritten)), acked, 'header written, payload not');
});

test('every bit flip in an earlier record refuses to start, naming the file and offset', async () => {
  const good = Buffer.concat([...acked.map(encodeFrame), encodeFrame(last)]);
  const firstLen = encodeFrame(acked[0]).length;
  for (let bit = 0; bit < firstLen * 8; bit++) {
    const damaged = Buffer.from(good);
    damaged[bit >> 3]! ^= 1 << (bit & 7);
    const dir = tempDir();
    writeFileSync(join(dir, 'wal.log'), damaged);
    await assert.rejects(openFileStorage({ dir }), (err: Error) => {
      assert.ok(err instanceof StorageCorruptError, `bit ${bit}: ${err.message}`);
      assert.match(err.message, /wal\.log is damaged at byte \d+/);
      return true;
    });
  }
});

test('the data directory is 0700 and locked; a stale lock is taken over', async () => {
  const dir = tempDir();
  const s = await openFileStorage({ dir });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  await assert.rejects(openFileStorage({ dir }), (err: Error) => err instanceof StorageLockedError && err.message.includes(String(process.pid)));
  await s.close();
  writeFileSync(join(dir, 'LOCK'), '999999999');
  const again = await openFileStorage({ dir });
  await again.close();
});

test('a writer SIGKILLed at random moments never loses an acknowledged record', async () => {
  const dir = tempDir();
  const moduleUrl = pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../src/storage/file-storage.js')).href;
  const script = join(dir, 'writer.mjs');
  writeFileSync(script, `
    import { openFileStorage } from ${JSON.stringify(moduleUrl)};
    const s = await openFileStorage({ dir: process.argv[2] });
    let n = s.recovered.length;
    for (;;) { const seq = n++; await s.append([{ seq }]); process.stdout.write(seq + '\\n'); }
  `);
  const data = join(dir, 'data');
  const ackedSeqs = new Set<number>();
  for (let kill = 0; kill < 10; kill++) {
    const child = spawn(process.execPath, [script, data], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise((resolve) => setTimeout(resolve, 60 + Math.floor(Math.random() * 120)));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const line of out.split('\n')) if (line !== '') ackedSeqs.add(Number(line));
    // The dead writer's lock is stale now; the next one takes it over.
  }
  const s = await openFileStorage<{ seq: number }>({ dir: data });
  const recovered = new Set(s.recovered.map((r) => r.seq));
  await s.close();
  assert.ok(ackedSeqs.size > 0, 'the writer acknowledged nothing');
  for (const seq of ackedSeqs) assert.ok(recovered.has(seq), `acknowledged record ${seq} was lost`);
  console.log(`${ackedSeqs.size} acknowledged records over 10 kills, all recovered (${readFileSync(join(data, 'wal.log')).length} bytes)`);
});
