/**
 * Real crashes: a writer process keeps several appends in flight, prints each
 * sequence number once its append resolved, and is SIGKILLed at a random
 * moment, ten times over the same directory. Every printed (acknowledged)
 * number must come back, and the log must be exactly the numbers 0..n-1 in
 * order: group commit keeps the order of calls, and each new writer goes on
 * from what it recovered.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFileStorage } from '../../src/storage/file-storage.js';
import { useTempDirs } from './storage-support.js';

const tempDir = useTempDirs();
const KILLS = 10;
const FIRST_ACK_TIMEOUT_MS = 20_000;

const moduleUrl = new URL('../../src/storage/file-storage.js', import.meta.url).href;

const WRITER = `
import { openFileStorage } from ${JSON.stringify(moduleUrl)};
const storage = await openFileStorage({ dir: process.argv[2], ...JSON.parse(process.argv[3]) });
let next = storage.recovered.length;
async function writer() {
  for (;;) {
    const seq = next++;
    // Records of varied sizes, so kills land at every kind of offset within frames and pages.
    await storage.append([{ seq, pad: 'p'.repeat((seq * 37) % 700) }]);
    process.stdout.write(seq + '\\n');
  }
}
for (let i = 0; i < 8; i++) void writer();
`;

/** Runs one writer until it has acknowledged something, lets it run a random while longer, then SIGKILLs it. */
async function runAndKill(script: string, dataDir: string, options: string): Promise<number[]> {
  const child = spawn(process.execPath, [script, dataDir, options], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the writer acknowledged nothing in ${FIRST_ACK_TIMEOUT_MS} ms: ${err}`)),
        FIRST_ACK_TIMEOUT_MS,
      );
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the writer exited with ${code}: ${err}`));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 150)));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  // Only whole lines count: a line cut by the kill was never seen as acknowledged.
  return out.split('\n').slice(0, -1).map(Number);
}

/** The log as it grows write by write, and preallocated (zeros ahead of the records, which recovery must keep apart from torn records). */
const KINDS = [
  { name: 'a growing log', options: {} },
  { name: 'a preallocated log', options: { preallocateBytes: 1024 * 1024 } },
];

for (const kind of KINDS) {
  test(`a writer SIGKILLed at random moments never loses an acknowledged record, ${kind.name} (${KILLS} kills)`, async () => {
    const dir = tempDir();
    const script = join(dir, 'writer.mjs');
    writeFileSync(script, WRITER);
    const dataDir = join(dir, 'data');
    const acknowledged: number[] = [];
    for (let kill = 0; kill < KILLS; kill++)
      acknowledged.push(...(await runAndKill(script, dataDir, JSON.stringify(kind.options))));
    const storage = await openFileStorage<{ seq: number }>({ dir: dataDir, ...kind.options });
    const recovered = storage.recovered.map((r) => r.seq);
    await storage.close();
    assert.deepEqual(
      recovered,
      Array.from({ length: recovered.length }, (_, i) => i),
      'the log holds 0..n-1 in order',
    );
    const kept = new Set(recovered);
    for (const seq of acknowledged) assert.ok(kept.has(seq), `acknowledged record ${seq} was lost`);
    console.log(
      `${kind.name}: ${acknowledged.length} acknowledged records over ${KILLS} kills, ${recovered.length} recovered, all acknowledged ones among them`,
    );
  });
}
