/**
 * `paxos kill` answers only once the replica's process is gone, so the
 * `paxos restart` typed right after it (`paxos kill node-2 && paxos restart
 * node-2`) finds nothing in the way: no "still running", no lock error.
 * Real processes through the built binary, in a PAXOS_HOME of its own; the
 * test stops everything it started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ClusterClient } from '../../src/cluster/client.js';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

const ROUNDS = 5;

interface StatusJson {
  readonly orchestratorPid: number;
  readonly replicas: readonly { readonly id: number; readonly pid: number | null; readonly up: boolean }[];
}

async function status(dir: string): Promise<StatusJson> {
  return JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as StatusJson;
}

function recordedOrchestratorPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { cluster?: { orchestratorPid: number } })
      .cluster?.orchestratorPid;
  } catch {
    return undefined;
  }
}

/** The pid of a replica the orchestrator reports up; fails the test if it is down. */
async function upPid(client: ClusterClient, id: number, what: string): Promise<number> {
  const r = (await client.status()).replicas.find((x) => x.id === id)!;
  assert.equal(r.up, true, `${what}: node-${id} is not up after restart`);
  return r.pid!;
}

/** `paxos down` if the test did not get there, then the orchestrator's pid if even that failed. */
async function cleanup(dir: string): Promise<void> {
  const pid = recordedOrchestratorPid(dir);
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

test(`kill then restart at once, ${ROUNDS} times: each succeeds, node-2 ends up, nothing is left behind`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-kill-restart-'));
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    const first = await status(dir);
    const pids = new Set<number>([first.orchestratorPid, ...first.replicas.map((r) => r.pid!)]);
    let before = first.replicas.find((r) => r.id === 2)!.pid!;

    for (let round = 1; round <= ROUNDS; round++) {
      assert.match((await succeeds(dir, 'kill', 'node-2')).stdout, /^killed node-2 \(SIGKILL\)$/m, `round ${round}`);
      // The answer came after the exit: the old process is gone, not merely signalled.
      assert.equal(
        isProcessAlive(before),
        false,
        `round ${round}: pid ${before} still alive after \`paxos kill\` returned`,
      );
      assert.match(
        (await succeeds(dir, 'restart', 'node-2')).stdout,
        /^restarted node-2 from its data$/m,
        `round ${round}`,
      );
      const after = (await status(dir)).replicas.find((r) => r.id === 2)!;
      assert.equal(after.up, true, `round ${round}: node-2 is not up after restart`);
      assert.notEqual(after.pid, before, `round ${round}: node-2 kept its old pid`);
      pids.add(after.pid!);
      before = after.pid!;
    }

    // The binary takes a second or two to start, which can hide the race; the same requests back to back cannot.
    const client = await ClusterClient.connect(dir);
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await client.kill(2);
        assert.equal(
          isProcessAlive(before),
          false,
          `fast round ${round}: pid ${before} still alive after kill answered`,
        );
        await client.restart(2);
        before = await upPid(client, 2, `fast round ${round}`);
        pids.add(before);
      }
      // A restart that arrives while the kill is still waiting for the exit waits for it too, instead of refusing.
      await Promise.all([client.kill(2), client.restart(2)]);
      pids.add(await upPid(client, 2, 'overlapping kill and restart'));
    } finally {
      client.close();
    }

    // A data directory some other live process holds is refused in one sentence, not with the replica's lock error.
    await succeeds(dir, 'kill', 'node-2');
    const lock = join(dir, 'data', 'node-2', 'LOCK');
    writeFileSync(lock, `${process.pid}\n`);
    const refused = await paxos(dir, 'restart', 'node-2');
    assert.notEqual(refused.exitCode, 0, 'restart over a held lock succeeded');
    assert.match(
      refused.stderr.trim(),
      new RegExp(
        `^paxos: node-2 cannot restart: its data directory \\S+ is locked by another live process \\(pid ${process.pid}\\)$`,
      ),
    );
    rmSync(lock);
    await succeeds(dir, 'restart', 'node-2');

    const end = await status(dir);
    assert.deepEqual(
      end.replicas.map((r) => [r.id, r.up]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    );
    await succeeds(dir, 'down');
    for (const pid of pids)
      assert.ok(await eventually(() => !isProcessAlive(pid), 10_000), `pid ${pid} survived paxos down`);
  } finally {
    await cleanup(dir);
  }
});
