#!/usr/bin/env node
// The write-ahead log alone, A against B in one process: a log that grows write by write and a
// preallocated one (dist/src/storage/file-storage.js, after `npx tsc`), appended to in turns, one
// record per group commit, so both see the same disk at the same moments (the fair way to compare
// on a shared, loaded machine). Prints the median and p99 of each append's wait, in microseconds.
// Usage: node scripts/wal-bench.mjs [appends=2000] [recordBytes=100] [dir=/tmp]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openFileStorage, PREALLOCATE_MAX_BYTES } from '../dist/src/storage/file-storage.js';

const [appendsArg, bytesArg, dirArg] = process.argv.slice(2);
const appends = Number(appendsArg ?? 2000);
const record = { t: 'accept', v: 'x'.repeat(Math.max(0, Number(bytesArg ?? 100) - 20)) };
const root = mkdtempSync(join(dirArg ?? '/tmp', 'paxos-wal-bench-'));
try {
  const kinds = [
    { name: 'growing', storage: await openFileStorage({ dir: join(root, 'growing'), lazyFlushMs: null }), us: [] },
    {
      name: 'preallocated',
      storage: await openFileStorage({
        dir: join(root, 'preallocated'),
        lazyFlushMs: null,
        preallocateBytes: PREALLOCATE_MAX_BYTES,
      }),
      us: [],
    },
  ];
  for (let i = 0; i < appends; i++) {
    for (const kind of i % 2 === 0 ? kinds : [...kinds].reverse()) {
      const start = process.hrtime.bigint();
      await kind.storage.append([record]);
      kind.us.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  }
  for (const kind of kinds) {
    await kind.storage.close();
    const sorted = kind.us.sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0);
    console.log(
      `${kind.name.padEnd(13)} appends ${sorted.length}  p50 ${at(0.5)} µs  p90 ${at(0.9)} µs  p99 ${at(0.99)} µs`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
