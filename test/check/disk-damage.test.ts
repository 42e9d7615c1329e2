/**
 * The disk nemesis's damage, on a real replica data directory written by the
 * real storage and identity code: every damage it does is one the next start
 * refuses (a cut below the high-water mark, a flipped bit, a rollback to an
 * earlier copy, a wipe), and the planted amnesia bug trusts it all the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyData, corruptLog, markOf, reachOf, rollBack, truncateLog, wipeData } from '../../src/check/disk-damage.js';
import { Random } from '../../src/core/random.js';
import { openFileStorage } from '../../src/storage/file-storage.js';
import { checkIdentity, recordStart } from '../../src/storage/identity.js';

const owner = { clusterId: 'c1', node: 1 };

/** Starts the replica's storage as main.ts does, appends `records` records, stops, and notes the mark. */
async function run(dir: string, records: number, expectData: boolean): Promise<void> {
  const claim = checkIdentity({ dataDir: dir, node: 1, clusterId: 'c1', expectData });
  const s = await openFileStorage<unknown>({ dir, owner, mustReach: claim.mustReach });
  const identity = recordStart(dir, claim.identity, s.reached);
  for (let i = 0; i < records; i++) await s.append([{ i, pad: 'x'.repeat(i) }]);
  const reached = s.reached;
  await s.close();
  recordStart(dir, identity, reached);
}

/** The next start's judgement: null when it would start, else its sentence. */
async function start(dir: string, plantedAmnesia = false): Promise<string | null> {
  try {
    const claim = checkIdentity({ dataDir: dir, node: 1, clusterId: 'c1', expectData: !plantedAmnesia });
    const s = await openFileStorage<unknown>({
      dir,
      owner,
      mustReach: plantedAmnesia ? null : claim.mustReach,
      ...(plantedAmnesia ? { plantedAmnesia: true } : {}),
    });
    await s.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function withReplica(fn: (dir: string, root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'paxos-disk-damage-'));
  try {
    const dir = join(root, 'node-1');
    await run(dir, 20, false);
    assert.equal(await start(dir), null, 'a healthy directory starts');
    await fn(dir, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`a log cut by the nemesis (seed ${seed}) is refused; planted amnesia starts from it`, () =>
    withReplica(async (dir) => {
      const mark = markOf(dir);
      assert.equal(mark, reachOf(dir), 'the mark reached the log at the clean stop');
      const done = truncateLog(dir, new Random(seed));
      assert.match(done, /^(cut .* below its mark|emptied)/);
      assert.match((await start(dir)) ?? '', /reaches only record \d+, but its high-water mark|is empty/);
      assert.equal(await start(dir, true), null);
    }));

  test(`a bit flipped by the nemesis (seed ${seed}) is refused; planted amnesia starts from it`, () =>
    withReplica(async (dir) => {
      const size = statSync(join(dir, 'wal.log')).size;
      assert.match(corruptLog(dir, new Random(seed)), /^flipped a bit of byte \d+/);
      assert.equal(statSync(join(dir, 'wal.log')).size, size, 'nothing is cut');
      assert.match((await start(dir)) ?? '', /is damaged at byte \d+/);
      assert.equal(await start(dir, true), null);
    }));
}

test('a rollback puts back an earlier copy only; the next start refuses it', () =>
  withReplica(async (dir, root) => {
    const copy = join(root, 'copy');
    copyData(dir, copy);
    assert.equal(rollBack(dir, copy), null, 'a copy of the same reach is no rollback');
    await run(dir, 5, true);
    const done = rollBack(dir, copy);
    assert.match(done ?? '', /^put .* back to an earlier copy whose log reaches record 20 \(its mark says 25\)$/);
    assert.match(
      (await start(dir)) ?? '',
      /reaches only record 20, but its high-water mark says it had reached record 25/,
    );
    assert.equal(await start(dir, true), null);
  }));

test('a wipe deletes only the files paxos made', () =>
  withReplica(async (dir) => {
    const before = readdirSync(dir).sort();
    assert.match(wipeData(dir), /^deleted identity\.json, wal\.log in /);
    assert.deepEqual(
      readdirSync(dir).sort(),
      before.filter((f) => f !== 'identity.json' && f !== 'wal.log'),
    );
    assert.match((await start(dir)) ?? '', /is empty|data is gone/);
    assert.equal(await start(dir, true), null);
  }));
