/**
 * `paxos logs` over a rotated log, on the binary, with no cluster running:
 * the log files are made by hand in a temporary PAXOS_HOME, so the tail
 * spanning `node-2.log.1` and `node-2.log`, and following through a
 * rotation done while it follows, are checked without starting replicas.
 * Every wait is bounded, and the follower is stopped with SIGINT in a
 * `finally`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bin, HANG_MS, succeeds } from '../support/cli.js';
import { eventually, sleep } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

function line(i: number): string {
  return `2026-11-25T12:00:${String(i % 60).padStart(2, '0')}.000Z node-2 line ${i}\n`;
}

function lines(from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += line(i);
  return out;
}

/** A PAXOS_HOME whose node-2 log was rotated once: lines 0-9 in node-2.log.1, 10-12 in node-2.log. */
function rotatedHome(): { home: string; file: string } {
  const home = mkdtempSync(join(tmpdir(), 'paxos-cli-logs-'));
  mkdirSync(join(home, 'logs'));
  const file = join(home, 'logs', 'node-2.log');
  writeFileSync(`${file}.1`, lines(0, 10));
  writeFileSync(file, lines(10, 13));
  return { home, file };
}

test('logs --lines returns the last lines even when they span the rotation, as text and as JSON', async () => {
  const { home } = rotatedHome();
  try {
    assert.equal((await succeeds(home, 'logs', 'node-2', '--lines', '5')).stdout, lines(8, 13).trimEnd());
    assert.equal((await succeeds(home, 'logs', 'node-2', '--lines', '500')).stdout, lines(0, 13).trimEnd());
    const json = (await succeeds(home, 'logs', 'node-2', '--lines', '4', '--json')).stdout
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(json[0], { node: 2, time: '2026-11-25T12:00:09.000Z', text: 'node-2 line 9' });
    assert.equal(json.length, 4);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('logs -f keeps following across a rotation that happens while it follows, printing each line once', async () => {
  const { home, file } = rotatedHome();
  const child = spawn(process.execPath, [bin, 'logs', 'node-2', '-f', '--lines', '2'], {
    cwd: repoRoot(),
    env: { ...process.env, PAXOS_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    assert.ok(await eventually(() => out === lines(11, 13), HANG_MS, 20), `the tail: ${JSON.stringify(out)} ${err}`);
    appendFileSync(file, line(13));
    // Rotated the way the writer does it: shift the old file, rename the current one, start a new one.
    renameSync(`${file}.1`, `${file}.2`);
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, line(14));
    writeFileSync(file, line(15));
    assert.ok(
      await eventually(() => out.length >= lines(11, 16).length, HANG_MS, 20),
      `after the rotation: ${JSON.stringify(out)} ${err}`,
    );
    appendFileSync(file, line(16));
    assert.ok(
      await eventually(() => out.length >= lines(11, 17).length, HANG_MS, 20),
      `after the rotation: ${JSON.stringify(out)} ${err}`,
    );
    assert.equal(out, lines(11, 17));
  } finally {
    child.kill('SIGINT');
    const code = await Promise.race([exited, sleep(HANG_MS).then(() => 'hung' as const)]);
    if (code === 'hung') child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
    assert.equal(code, 0, `logs -f after SIGINT: ${String(code)} ${err}`);
  }
});
