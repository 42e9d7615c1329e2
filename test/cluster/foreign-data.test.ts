/**
 * `up --fresh`, `paxos reset` and `down --wipe` delete only what paxos made
 * in `$PAXOS_HOME/data` (the manifest and the replica directories that carry
 * its identity file), refuse in one sentence naming anything else there, and
 * never follow a symbolic link while deleting. The refusals happen before any
 * process starts, so these run the built binary without starting a cluster.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deleteData } from '../../src/cluster/manifest.js';
import { paxos } from '../support/cli.js';

function scratch(): { home: string; data: string; outside: string; done: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'paxos-foreign-'));
  const outside = mkdtempSync(join(tmpdir(), 'paxos-outside-'));
  writeFileSync(join(outside, 'keep.txt'), "not paxos's");
  const data = join(home, 'data');
  mkdirSync(data);
  return {
    home,
    data,
    outside,
    done: () => {
      rmSync(home, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    },
  };
}

/** What a cluster of paxos's own leaves: the manifest and a replica directory with its identity. */
function plantOurs(data: string, node = 1): void {
  writeFileSync(join(data, 'manifest.json'), '{}');
  mkdirSync(join(data, `node-${node}`));
  writeFileSync(join(data, `node-${node}`, 'identity.json'), '{}');
  writeFileSync(join(data, `node-${node}`, 'wal.log'), 'x');
}

test('paxos data only: deleted, and a link inside a replica directory is removed without following it', async () => {
  const s = scratch();
  try {
    plantOurs(s.data);
    mkdirSync(join(s.data, 'node-2')); // an empty replica directory (a first start cut short) is ours too
    symlinkSync(s.outside, join(s.data, 'node-1', 'planted'));
    const deleted = await deleteData(s.home);
    assert.deepEqual(
      deleted?.entries.map((e) => e.path.slice(s.data.length + 1)),
      ['manifest.json', 'node-1', 'node-2'],
    );
    assert.equal(existsSync(s.data), false);
    assert.equal(readFileSync(join(s.outside, 'keep.txt'), 'utf8'), "not paxos's", 'the link was followed');
  } finally {
    s.done();
  }
});

test('a foreign file, directory and link beside paxos data: reset, up --fresh and down --wipe refuse, naming them, and delete nothing', async () => {
  const s = scratch();
  try {
    plantOurs(s.data);
    writeFileSync(join(s.data, 'thesis.txt'), 'chapter 1');
    mkdirSync(join(s.data, 'photos'));
    writeFileSync(join(s.data, 'photos', 'wedding.jpg'), 'jpeg');
    symlinkSync(s.outside, join(s.data, 'elsewhere'));
    for (const args of [['reset'], ['down', '--wipe'], ['up', '--fresh', '-n', '1', '--detach']]) {
      const r = await paxos(s.home, ...args);
      assert.equal(r.exitCode, 1, `paxos ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one sentence: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `^paxos: ${s.data} holds elsewhere \\(a symbolic link\\), photos/, thesis\\.txt, which paxos did not make`,
        ),
      );
      assert.doesNotMatch(r.stderr, /node-1|internal error/);
      assert.equal(readFileSync(join(s.data, 'photos', 'wedding.jpg'), 'utf8'), 'jpeg');
      assert.equal(readFileSync(join(s.data, 'thesis.txt'), 'utf8'), 'chapter 1');
      assert.equal(
        existsSync(join(s.data, 'node-1', 'wal.log')),
        true,
        `paxos ${args.join(' ')} deleted paxos's own data while refusing`,
      );
      assert.equal(readFileSync(join(s.outside, 'keep.txt'), 'utf8'), "not paxos's");
    }
  } finally {
    s.done();
  }
});

test("a node-N directory without an identity file is not paxos's; a data/ with only foreign files is not started in", async () => {
  const s = scratch();
  try {
    mkdirSync(join(s.data, 'node-2'));
    writeFileSync(join(s.data, 'node-2', 'notes.md'), 'mine');
    await assert.rejects(deleteData(s.home), /holds node-2\/, which paxos did not make/);
    const up = await paxos(s.home, 'up', '-n', '1', '--detach');
    assert.equal(up.exitCode, 1);
    assert.match(up.stderr, /holds node-2\/, which paxos did not make, so it will not start a cluster there/);
    assert.equal(readFileSync(join(s.data, 'node-2', 'notes.md'), 'utf8'), 'mine');
  } finally {
    s.done();
  }
});

test('a data directory that is a symbolic link is refused, not deleted through', async () => {
  const s = scratch();
  try {
    rmSync(s.data, { recursive: true });
    plantOurs(s.outside);
    symlinkSync(s.outside, s.data);
    const r = await paxos(s.home, 'reset');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, new RegExp(`^paxos: ${s.data} is a symbolic link, which paxos did not make`));
    assert.equal(existsSync(join(s.outside, 'node-1', 'wal.log')), true);
  } finally {
    s.done();
  }
});
