/**
 * The orchestrator's control plane is a unix socket in the home, mode 0600:
 * another local user cannot open a single connection to it (a TCP port let
 * them open thousands and starve the owner's commands). The two-user case
 * runs as root with a throwaway user made for it and removed afterwards,
 * also on failure; it is skipped, saying so, for other users.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { checkSocketPath, clearStaleSocket, controlSocketOf } from '../../src/cluster/control-socket.js';
import { readRecord } from '../../src/cluster/record.js';
import { OperatingError } from '../../src/errors.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const asRoot = process.getuid?.() === 0;

function refusedWith(pattern: RegExp) {
  return (err: unknown) => err instanceof OperatingError && pattern.test(err.message);
}

test('a stale socket of the user is removed; a file, a link or a live socket at its name is refused and kept', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-sock-'));
  const path = controlSocketOf(home);
  try {
    // A socket left by an orchestrator that was SIGKILLed: bound, then its server gone without unlinking it.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen({ path }, resolve));
    const leftBehind = spawnSync(
      process.execPath,
      [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(`${path}.2`)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ],
      { timeout: HANG_MS },
    );
    assert.equal(leftBehind.signal, 'SIGKILL');
    assert.ok(statSync(`${path}.2`).isSocket(), 'a SIGKILLed server leaves its socket file behind');
    await clearStaleSocket(`${path}.2`);
    assert.equal(existsSync(`${path}.2`), false, 'the stale socket is removed');

    await assert.rejects(clearStaleSocket(path), refusedWith(/already listening on .*control\.sock.*paxos down/));
    assert.ok(existsSync(path), 'a live socket is kept');
    await new Promise<void>((resolve) => stale.close(() => resolve()));

    writeFileSync(path, 'mine');
    await assert.rejects(clearStaleSocket(path), refusedWith(/is not a control socket paxos made \(it is a file\)/));
    assert.ok(existsSync(path), 'a file is not deleted');
    rmSync(path);
    symlinkSync(join(home, 'elsewhere'), path);
    await assert.rejects(clearStaleSocket(path), refusedWith(/\(it is a link\)/));
    rmSync(path);
    mkdirSync(path);
    await assert.rejects(clearStaleSocket(path), refusedWith(/\(it is a directory\)/));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a home too deep for a unix socket path is one sentence, and up starts nothing there', async () => {
  assert.doesNotThrow(() => checkSocketPath(`/${'a'.repeat(105)}`));
  assert.throws(() => checkSocketPath(`/${'a'.repeat(107)}`), refusedWith(/108 bytes long, more than the 107/));
  const base = mkdtempSync(join(tmpdir(), 'paxos-deep-'));
  const home = join(base, 'd'.repeat(100));
  try {
    const r = await paxos(home, 'up', '-n', '1', '--detach');
    assert.equal(r.exitCode, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      /control socket .* more than the 107 a unix socket's path may have; set PAXOS_HOME to a shorter path/,
    );
    assert.equal(readRecord(home), null, 'no cluster is recorded');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/** A user made for this test only; `remove` deletes it (and only it). */
function throwawayUser(): { name: string; uid: number; gid: number; remove(): void } | string {
  const name = `pxeve${process.pid}`;
  const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
    encoding: 'utf8',
  });
  if (made.error !== undefined || made.status !== 0)
    return `cannot create a throwaway user: ${made.error?.message ?? made.stderr.trim()}`;
  const remove = () => void spawnSync('userdel', [name]);
  const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g'), remove };
}

/** Tries `attempts` connections to the socket as `uid`, and says how each ended ("connected" or the error code). */
function connectAs(user: { uid: number; gid: number }, path: string, attempts: number): string[] {
  const script = `
    const net = require('node:net');
    const results = [];
    let left = ${attempts};
    const one = () => {
      const s = net.connect({ path: process.argv[1] });
      const done = (r) => { s.destroy(); results.push(r); if (--left > 0) one(); else console.log(JSON.stringify(results)); };
      s.once('connect', () => done('connected'));
      s.once('error', (e) => done(e.code));
    };
    one();`;
  const r = spawnSync(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', process.execPath, '-e', script, path],
    { encoding: 'utf8', cwd: '/', timeout: HANG_MS },
  );
  assert.equal(r.status, 0, `the other user's client failed: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout.trim()) as string[];
}

test('the control socket is 0600 even under umask 0, and another local user cannot connect to it', {
  skip: asRoot ? false : 'needs root to create a throwaway user and run a client as that user',
}, async (t) => {
  const user = throwawayUser();
  if (typeof user === 'string') return t.skip(user);
  // Searchable by others (0755, which the home check allows): only the socket's own mode stands in the other user's way.
  const home = mkdtempSync(join(tmpdir(), 'paxos-sock-'));
  chmodSync(home, 0o755);
  try {
    const up = await execa('sh', ['-c', `umask 000 && exec "${process.execPath}" "${bin}" up -n 1 --detach`], {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: home },
      reject: false,
      timeout: HANG_MS,
    });
    assert.equal(up.exitCode, 0, up.stderr);
    const path = controlSocketOf(home);
    assert.equal(readRecord(home)?.controlSocket, path);
    const st = statSync(path);
    assert.ok(st.isSocket());
    assert.equal((st.mode & 0o777).toString(8), '600');

    const tries = connectAs(user, path, 50);
    assert.deepEqual([...new Set(tries)], ['EACCES'], `the other user's attempts: ${tries.join(' ')}`);
    // Its owner still gets through, and the other user's attempts cost it nothing.
    assert.match((await succeeds(home, 'propose', 'x=1')).stdout, /^chosen x=1/);
    assert.match((await succeeds(home, 'status')).stdout, /^1 replica/);
  } finally {
    await paxos(home, 'down');
    user.remove();
    rmSync(home, { recursive: true, force: true });
  }
  assert.equal(spawnSync('id', [user.name]).status, 1, 'the throwaway user is gone');
});
