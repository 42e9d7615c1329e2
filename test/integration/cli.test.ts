/**
 * The binary as a user meets it (`node bin/paxos.js`, each test in its own
 * PAXOS_HOME): bad input gets one clear sentence on stderr and a non-zero
 * exit without hanging; a detached cluster is driven from "another
 * terminal" and stopped with no process left; a record whose processes died
 * is detected and cleaned. Every test stops what it started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

interface StatusJson {
  readonly protocol: string;
  readonly clusterSize: number;
  readonly orchestratorPid: number;
  readonly replicas: readonly { readonly id: number; readonly pid: number | null; readonly up: boolean }[];
}

function home(): string {
  return mkdtempSync(join(tmpdir(), 'paxos-cli-'));
}

/** One sentence on one line of stderr, naming the problem, and a non-zero exit. */
async function fails(dir: string, args: string[], pattern: RegExp): Promise<void> {
  const r = await paxos(dir, ...args);
  const what = `paxos ${args.join(' ').slice(0, 60)}`;
  assert.notEqual(r.exitCode, 0, `${what} exited 0`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one sentence, not a stack or a page: ${r.stderr}`);
  assert.match(lines[0], /^paxos: \S.*[^\s]$/, what);
  assert.match(lines[0], pattern, what);
}

/** The record as the cluster wrote it, read as a file: where a user (or a script) would find the pids. */
function recordFile(
  dir: string,
): { cluster?: { orchestratorPid: number; replicas: { id: number; pid: number | null }[] } } | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ReturnType<typeof recordFile>;
  } catch {
    return null;
  }
}

async function status(dir: string): Promise<StatusJson> {
  return JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as StatusJson;
}

/** Stops whatever a test left running: `paxos down`, and if the orchestrator survives that, its recorded pid. */
async function cleanup(dir: string): Promise<void> {
  const pid = recordFile(dir)?.cluster?.orchestratorPid;
  if (pid !== undefined && isProcessAlive(pid)) {
    await execa(process.execPath, [bin, 'down'], {
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: HANG_MS,
    });
    if (!(await eventually(() => !isProcessAlive(pid), 5000))) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

test('bad input without a cluster: one sentence and a non-zero exit', async () => {
  const dir = home();
  try {
    await fails(dir, ['propose', 'x'], /propose needs key=value/);
    await fails(dir, ['propose', '=3'], /a key is needed/);
    await fails(dir, ['up', '-n', '0'], /-n must be an integer from 1 to 15/);
    await fails(dir, ['up', '-n', '1000'], /-n must be an integer from 1 to 15/);
    await fails(dir, ['status'], /no cluster is running/);
    await fails(dir, ['propose', `x=${'v'.repeat(70_000)}`], /largest value a replica accepts is 65536 bytes/);
    await fails(dir, ['net', '--delay', 'soon'], /--delay must look like 10-200ms/);
    assert.equal(recordFile(dir)?.cluster, undefined, 'bad input left a cluster record');
  } finally {
    await cleanup(dir);
  }
});

test("a busy port in --base-port's range (node-1's, at base + 1) is refused before anything starts", async () => {
  const dir = home();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const port = (server.address() as { port: number }).port;
  try {
    await fails(
      dir,
      ['up', '-n', '3', '--base-port', String(port - 1), '--detach'],
      new RegExp(`port ${port} on 127.0.0.1 is already in use`),
    );
    assert.equal(recordFile(dir)?.cluster, undefined, 'a refused start left a cluster record');
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await cleanup(dir);
  }
});

test('a detached cluster driven from another terminal, then stopped with nothing left behind', async () => {
  const dir = home();
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    await fails(dir, ['up', '-n', '3', '--detach'], /a cluster is already running/);
    assert.match((await succeeds(dir, 'propose', 'x=7')).stdout, /chosen x=7 in slot #\d+ at ballot \d+\.\d+/);
    assert.match((await succeeds(dir, 'get', 'x')).stdout, /^x = 7 /);
    const first = await status(dir);
    assert.equal(first.clusterSize, 3);
    assert.deepEqual(
      first.replicas.map((r) => [r.id, r.up, typeof r.pid]),
      [
        [1, true, 'number'],
        [2, true, 'number'],
        [3, true, 'number'],
      ],
    );

    await fails(dir, ['kill', 'node-9'], /there is no node-9: this cluster has node-1 to node-3/);
    await succeeds(dir, 'kill', 'node-2');
    assert.equal((await status(dir)).replicas.find((r) => r.id === 2)!.up, false, 'node-2 still up after kill');
    await fails(dir, ['kill', 'node-2'], /node-2 is already down/);
    await succeeds(dir, 'restart', 'node-2');
    const restarted = await status(dir);
    assert.equal(restarted.replicas.find((r) => r.id === 2)!.up, true, 'node-2 down after restart');
    await succeeds(dir, 'partition', 'node-1', 'node-2,node-3');
    await succeeds(dir, 'heal');
    await succeeds(dir, 'net', '--delay', '1-5ms', '--drop', '1%');
    const logs = (await succeeds(dir, 'logs', 'node-1')).stdout.trim().split('\n');
    assert.ok(
      logs.length >= 2 && logs.some((l) => /started as node-1 of 3/.test(l)),
      `logs node-1: ${logs.slice(0, 5).join(' | ')}`,
    );

    const pids = [
      restarted.orchestratorPid,
      ...first.replicas.map((r) => r.pid!),
      restarted.replicas.find((r) => r.id === 2)!.pid!,
    ];
    await succeeds(dir, 'down');
    for (const pid of pids)
      assert.ok(await eventually(() => !isProcessAlive(pid), 10_000), `pid ${pid} survived paxos down`);
    await fails(dir, ['status'], /no cluster is running/);
  } finally {
    await cleanup(dir);
  }
});

test('a stale record whose orchestrator died is detected and cleaned, and its replicas exit on their own', async () => {
  const dir = home();
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    const record = recordFile(dir)?.cluster;
    assert.ok(record !== undefined, `no record in ${join(dir, 'cluster.json')}`);
    process.kill(record.orchestratorPid, 'SIGKILL');
    assert.ok(
      await eventually(() => !isProcessAlive(record.orchestratorPid), 5000),
      'the orchestrator survived SIGKILL',
    );
    await fails(dir, ['status'], /is gone \(its orchestrator, pid \d+, exited\); removed the stale record/);
    assert.equal(recordFile(dir)?.cluster, undefined, 'the stale record is still there');
    await fails(dir, ['status'], /no cluster is running/);
    for (const r of record.replicas) {
      if (r.pid !== null)
        assert.ok(
          await eventually(() => !isProcessAlive(r.pid!), 10_000),
          `orphaned node-${r.id} (pid ${r.pid}) kept running`,
        );
    }
  } finally {
    await cleanup(dir);
  }
});
