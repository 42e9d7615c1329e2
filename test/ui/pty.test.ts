/**
 * The dashboard in a real pseudo-terminal: tmux runs `paxos up -n 5` at 80×24,
 * another process proposes and kills a replica, and the screen must show it.
 * .ci/run installs tmux; without it this test is skipped with a reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive, readRecord } from '../../src/cluster/record.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const root = repoRoot();
const bin = join(root, 'bin', 'paxos.js');

test('paxos up -n 5 in a terminal shows a proposal and a killed replica, and q leaves nothing running', {
  skip: hasTmux() ? false : 'tmux is not installed',
}, async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-pty-'));
  const socket = join(home, 'tmux.sock');
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-t', 'dash', '-p');
  const env = { ...process.env, PAXOS_HOME: home };
  try {
    // Ink draws only the final frame when CI is set (as it is under .ci/run); a person's terminal has no CI.
    tmux(
      'new-session',
      '-d',
      '-s',
      'dash',
      '-x',
      '80',
      '-y',
      '24',
      '-e',
      `PAXOS_HOME=${home}`,
      `env -u CI ${process.execPath} ${bin} up -n 5`,
    );
    assert.ok(
      await eventually(() => /5 replicas/.test(screen()) && /leader node-\d/.test(screen()), 20_000),
      `no dashboard:\n${screen()}`,
    );
    const lines = screen().replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), 'the dashboard must fit 80×24');

    const proposed = await execa(process.execPath, [bin, 'propose', 'x=7'], { env, reject: false });
    assert.equal(proposed.exitCode, 0, proposed.stderr);
    assert.ok(await eventually(() => /x=7/.test(screen()), 5000), `the chosen value never showed:\n${screen()}`);

    const killed = await execa(process.execPath, [bin, 'kill', 'node-2'], { env, reject: false });
    assert.equal(killed.exitCode, 0, killed.stderr);
    assert.ok(
      await eventually(() => /node-2\*?\s+down/.test(screen()), 5000),
      `node-2 never showed as down:\n${screen()}`,
    );

    const record = readRecord(home);
    tmux('send-keys', '-t', 'dash', 'q');
    assert.ok(await eventually(() => readRecord(home) === null, 10_000), 'q should stop the cluster');
    for (const r of record?.replicas ?? []) {
      if (r.pid !== null)
        assert.ok(await eventually(() => !isProcessAlive(r.pid!), 5000), `node-${r.id} (pid ${r.pid}) still runs`);
    }
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // Already gone with its only session.
    }
    const left = readRecord(home);
    if (left !== null && isProcessAlive(left.orchestratorPid)) process.kill(left.orchestratorPid, 'SIGTERM');
    rmSync(home, { recursive: true, force: true });
  }
});
