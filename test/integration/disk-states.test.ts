/**
 * Ordinary disk states are one sentence naming the path and what to do, not
 * a stack trace: a full disk (a small tmpfs, filled), a read-only home (a
 * tmpfs remounted read-only), a home the user cannot write and a cluster.json
 * the user cannot read (run as another uid, nobody). These need root to mount
 * and to switch users; they are skipped, saying so, otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { lastLine } from '../../src/cluster/home.js';
import { openRotatingLog } from '../../src/cluster/log-files.js';
import { bin, HANG_MS, paxos } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A small tmpfs mounted on a fresh directory, or the reason it cannot be. */
function smallDisk(): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}`;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fill(dir: string): void {
  const block = Buffer.alloc(4096, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), block);
    } catch {
      return;
    }
  }
}

function assertOneSentence(r: { exitCode?: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.exitCode, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error| {4}at /);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

async function asNobody(home: string, ...args: string[]) {
  return execa(process.execPath, [bin, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, PAXOS_HOME: home },
    reject: false,
    timeout: HANG_MS,
    uid: NOBODY,
    gid: NOBODY,
  });
}

test('a full disk: up (attached and detached) says so in one sentence naming the path', {
  skip: asRoot ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const disk = smallDisk();
  if (typeof disk === 'string') return t.skip(disk);
  try {
    const [attached, home] = ['attached', 'detached'].map((name) => join(disk.dir, name));
    for (const h of [attached, home]) {
      mkdirSync(h, { mode: 0o700 });
      mkdirSync(join(h, 'logs'), { mode: 0o700 });
    }
    fill(disk.dir);
    assertOneSentence(
      await paxos(attached, 'up', '-n', '1'),
      /^paxos: cannot (write|create|open) .*: the disk is full; free some space there and run the command again$/m,
    );
    assertOneSentence(
      await paxos(home, 'up', '-n', '1', '--detach'),
      new RegExp(
        `^paxos: (the background cluster did not start: the disk holding ${home} is full|cannot (write|create|open) .*: the disk is full)`,
      ),
    );
  } finally {
    for (const name of ['attached', 'detached']) await paxos(join(disk.dir, name), 'down');
    disk.unmount();
  }
});

test('a read-only home: up says so in one sentence', {
  skip: asRoot ? false : 'needs root to mount a tmpfs read-only',
}, async (t) => {
  const disk = smallDisk();
  if (typeof disk === 'string') return t.skip(disk);
  try {
    chmodSync(disk.dir, 0o700);
    const ro = spawnSync('mount', ['-o', 'remount,ro', disk.dir]);
    if (ro.status !== 0) return t.skip('cannot remount the tmpfs read-only');
    assertOneSentence(
      await paxos(disk.dir, 'up', '-n', '1', '--detach'),
      new RegExp(
        `^paxos: cannot create ${join(disk.dir, 'logs')}: the file system is read-only; set PAXOS_HOME to a writable directory$`,
      ),
    );
  } finally {
    disk.unmount();
  }
});

test('a home the user cannot write, and a cluster.json the user cannot read, as another user', {
  skip: asRoot ? false : 'needs root to run paxos as another uid',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-perm-'));
  try {
    chmodSync(dir, 0o755);
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o500 });
    chownSync(home, NOBODY, NOBODY);
    assertOneSentence(
      await asNobody(home, 'up', '-n', '1', '--detach'),
      new RegExp(
        `^paxos: cannot create ${join(home, 'logs')}: permission denied; make it writable by you, or set PAXOS_HOME to a directory of your own$`,
      ),
    );

    chmodSync(home, 0o700);
    writeFileSync(join(home, 'cluster.json'), '{}', { mode: 0o000 });
    chownSync(join(home, 'cluster.json'), NOBODY, NOBODY);
    chmodSync(join(home, 'cluster.json'), 0o000);
    assertOneSentence(
      await asNobody(home, 'status'),
      new RegExp(
        `^paxos: cannot read ${join(home, 'cluster.json')}: permission denied; make it readable by you, or set PAXOS_HOME to a directory of your own$`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cluster.json that is a directory is one sentence', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-perm-'));
  try {
    mkdirSync(join(home, 'cluster.json'));
    assertOneSentence(
      await paxos(home, 'status'),
      /cluster\.json is not a regular file; remove it and run the command again$/,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a replica's last words that a full disk kept out of its log are still its last words", {
  skip: asRoot ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const disk = smallDisk();
  if (typeof disk === 'string') return t.skip(disk);
  try {
    const file = join(disk.dir, 'logs', 'node-2.log');
    const log = openRotatingLog({ file });
    fill(disk.dir);
    log.write('2026-12-06T00:00:00.000Z paxos: cannot write /h/data/node-2/wal.log: the disk is full\n');
    await log.flush();
    assert.equal(lastLine(file), 'cannot write /h/data/node-2/wal.log: the disk is full');
    await log.close();
  } finally {
    disk.unmount();
  }
});

test('status says the disk is full when replicas are down on it', {
  skip: asRoot ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return t.skip('cannot mount a tmpfs here');
  }
  const home = join(dir, 'home');
  try {
    mkdirSync(home, { mode: 0o700 });
    assert.equal((await paxos(home, 'up', '-n', '1', '--detach')).exitCode, 0);
    assert.equal((await paxos(home, 'kill', 'node-1')).exitCode, 0);
    assert.doesNotMatch((await paxos(home, 'status')).stdout, /disk/, 'a disk with room says nothing');
    fill(dir);
    const r = await paxos(home, 'status');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `\\nthe disk holding ${home} is full: a replica that cannot write its log stops rather than lose what it promised; free some space there, then \`paxos restart --all\`$`,
      ),
    );
    assert.equal(JSON.parse((await paxos(home, 'status', '--json')).stdout).diskFull, true);
  } finally {
    await paxos(home, 'down');
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
