/**
 * The binary as a user meets it: bad input gets one sentence and a non-zero
 * exit without hanging; a detached cluster is driven from "another terminal";
 * a record whose processes died is detected and cleaned.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive, readRecord } from '../../src/cluster/record.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const bin = join(repoRoot(), 'bin', 'paxos.js');

function home(): string {
  return mkdtempSync(join(tmpdir(), 'paxos-cli-'));
}

function paxos(dir: string, ...args: string[]) {
  return execa(process.execPath, [bin, ...args], { env: { ...process.env, PAXOS_HOME: dir }, reject: false, timeout: 30_000 });
}

/** One sentence on stderr, prefixed, and the exit code. */
async function fails(dir: string, args: string[], pattern: RegExp, code: number): Promise<void> {
  const r = await paxos(dir, ...args);
  assert.equal(r.exitCode, code, `${args.join(' ')}: exit ${r.exitCode}, stderr ${r.stderr}`);
  assert.match(r.stderr, pattern, args.join(' '));
  assert.ok(r.stderr.trim().split('\n').length <= 3, `one clear sentence, not a stack: ${r.stderr}`);
}

async function cleanup(dir: string): Promise<void> {
  const record = readRecord(dir);
  if (record !== null && isProcessAlive(record.orchestratorPid)) {
    await paxos(dir, 'down');
    if (isProcessAlive(record.orchestratorPid)) process.kill(record.orchestratorPid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

test('bad input without a cluster: one sentence and a non-zero exit', async () => {
  const dir = home();
  try {
    await fails(dir, ['propose', 'x'], /propose needs key=value/, 2);
    await fails(dir, ['propose', '=3'], /a key is needed/, 2);
    await fails(dir, ['up', '-n', '0'], /-n must be an integer from 1 to 15/, 2);
    await fails(dir, ['up', '-n', '1000'], /-n must be an integer from 1 to 15/, 2);
    await fails(dir, ['status'], /no cluster is running/, 1);
    await fails(dir, ['propose', `x=${'v'.repeat(70_000)}`], /largest value a replica accepts is 65536 bytes/, 2);
    await fails(dir, ['net', '--delay', 'soon'], /--delay must look like 10-200ms/, 2);
  } finally {
    await cleanup(dir);
  }
});

test('a busy port is refused before anything starts', async () => {
  const dir = home();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    await fails(dir, ['up', '-n', '3', '--base-port', String(port), '--detach'], new RegExp(`port ${port} on 127.0.0.1 is already in use`), 1);
    assert.equal(readRecord(dir), null);
  } finally {
    server.close();
    await cleanup(dir);
  }
});

test('a detached cluster driven from another terminal, then stopped with nothing left behind', async () => {
  const dir = home();
  try {
    const up = await paxos(dir, 'up', '-n', '3', '--detach');
    assert.equal(up.exitCode, 0, up.stderr);
    await fails(dir, ['up', '-n', '3', '--detach'], /a cluster is already running/, 1);
    const proposed = await paxos(dir, 'propose', 'x=7');
    assert.equal(proposed.exitCode, 0, proposed.stderr);
    assert.match(proposed.stdout, /chosen x=7 in slot #\d+ at ballot \d+\.\d+/);
    assert.match((await paxos(dir, 'get', 'x')).stdout, /x = 7/);
    const status = JSON.parse((await paxos(dir, 'status', '--json')).stdout) as { replicas: { id: number; pid: number | null }[] };
    assert.equal(status.replicas.length, 3);
    await fails(dir, ['kill', 'node-9'], /there is no node-9: this cluster has node-1 to node-3/, 2);
    assert.equal((await paxos(dir, 'kill', 'node-2')).exitCode, 0);
    await fails(dir, ['kill', 'node-2'], /node-2 is already down/, 1);
    assert.equal((await paxos(dir, 'restart', 'node-2')).exitCode, 0);
    assert.equal((await paxos(dir, 'partition', 'node-1', 'node-2,node-3')).exitCode, 0);
    assert.equal((await paxos(dir, 'heal')).exitCode, 0);
    assert.equal((await paxos(dir, 'net', '--delay', '1-5ms', '--drop', '1%')).exitCode, 0);
    assert.match((await paxos(dir, 'logs', 'node-1')).stdout, /started as node-1 of 3/);
    const pids = status.replicas.map((r) => r.pid).filter((p): p is number => p !== null);
    const down = await paxos(dir, 'down');
    assert.equal(down.exitCode, 0, down.stderr);
    for (const pid of pids) assert.ok(await eventually(() => !isProcessAlive(pid), 5000), `replica pid ${pid} survived down`);
    await fails(dir, ['status'], /no cluster is running/, 1);
  } finally {
    await cleanup(dir);
  }
});

test('a stale record whose orchestrator died is detected and cleaned, and its replicas exit on their own', async () => {
  const dir = home();
  try {
    assert.equal((await paxos(dir, 'up', '-n', '3', '--detach')).exitCode, 0);
    const record = readRecord(dir)!;
    process.kill(record.orchestratorPid, 'SIGKILL');
    await eventually(() => !isProcessAlive(record.orchestratorPid), 5000);
    await fails(dir, ['status'], /is gone \(its orchestrator, pid \d+, exited\); removed the stale record/, 1);
    await fails(dir, ['status'], /no cluster is running/, 1);
    for (const r of record.replicas) {
      if (r.pid !== null) assert.ok(await eventually(() => !isProcessAlive(r.pid!), 5000), `orphaned replica ${r.id} kept running`);
    }
  } finally {
    await cleanup(dir);
  }
});
