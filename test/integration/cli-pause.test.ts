/**
 * `paxos pause` and `paxos resume` (Jepsen's pause nemesis: SIGSTOP, then
 * SIGCONT), and `paxos kill --all` / `paxos restart --all`, through the built
 * binary in a PAXOS_HOME of its own. A paused replica is shown as paused, the
 * other two still decide, a paused replica can be killed and restarted, and
 * `paxos down` with a replica paused leaves no process behind. The test stops
 * everything it started.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';

/** Proposals retried after a fault: a new leader may need an election or two (150–300 ms each) first. */
const PROPOSE_ATTEMPTS = 8;

interface ReplicaJson {
  readonly id: number;
  readonly pid: number | null;
  readonly up: boolean;
  readonly paused: boolean;
}

interface StatusJson {
  readonly orchestratorPid: number;
  readonly replicas: readonly ReplicaJson[];
}

/** Exit 1 (the cluster cannot do it) with exactly one sentence on stderr matching `pattern`. */
async function refused(dir: string, args: string[], pattern: RegExp): Promise<void> {
  const r = await paxos(dir, ...args);
  assert.equal(r.exitCode, 1, `paxos ${args.join(' ')}: expected exit 1, got ${r.exitCode}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `paxos ${args.join(' ')}: one sentence, not a page: ${r.stderr}`);
  assert.match(lines[0], pattern);
}

async function status(dir: string): Promise<StatusJson> {
  return JSON.parse((await succeeds(dir, 'status', '--json')).stdout) as StatusJson;
}

async function replica(dir: string, id: number): Promise<ReplicaJson> {
  return (await status(dir)).replicas.find((r) => r.id === id)!;
}

/** The status table's STATE column for one replica. */
async function tableState(dir: string, id: number): Promise<string | undefined> {
  const row = (await succeeds(dir, 'status')).stdout.split('\n').find((l) => l.startsWith(`node-${id} `));
  return row?.split(/\s+/)[1];
}

/**
 * The kernel's own word on a process: 'T' while it is stopped. Null where
 * /proc does not exist, so the check is skipped there rather than guessed.
 */
function kernelState(pid: number): string | null {
  if (!existsSync('/proc/self/stat')) return null;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces; the state is the first field after it.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

/** Proposes until one is chosen, a bounded number of times; the last failure fails the test. */
async function proposeEventually(dir: string, assignment: string, ...extra: string[]): Promise<void> {
  let last = '';
  for (let attempt = 1; attempt <= PROPOSE_ATTEMPTS; attempt++) {
    const r = await paxos(dir, 'propose', assignment, '--timeout', '3s', ...extra);
    if (r.exitCode === 0) {
      assert.match(r.stdout, new RegExp(`^chosen ${assignment} `, 'm'));
      return;
    }
    last = `exit ${r.exitCode}: ${r.stderr.trim()}`;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  assert.fail(`paxos propose ${assignment} ${extra.join(' ')} failed ${PROPOSE_ATTEMPTS} times; last ${last}`);
}

function recordedOrchestratorPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { cluster?: { orchestratorPid: number } })
      .cluster?.orchestratorPid;
  } catch {
    return undefined;
  }
}

/**
 * Whether a live pid is one of this test's replicas: its command line names
 * the test's PAXOS_HOME (the replica's --data). Checked before a SIGKILL so
 * that a pid reused by an unrelated process is never hit.
 */
function ownedReplica(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

/**
 * `paxos down` if the test did not get there, then the orchestrator's pid if
 * even that failed, then any replica of this test still alive: one the test
 * paused and left stopped would otherwise sit there forever.
 */
async function cleanup(dir: string, pids: ReadonlySet<number>): Promise<void> {
  const orchestrator = recordedOrchestratorPid(dir);
  if (orchestrator !== undefined && isProcessAlive(orchestrator)) {
    await execa(process.execPath, [bin, 'down'], {
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: HANG_MS,
    });
    if (!(await eventually(() => !isProcessAlive(orchestrator), 5000))) process.kill(orchestrator, 'SIGKILL');
  }
  for (const pid of pids) {
    if (!(await eventually(() => !isProcessAlive(pid), 5000)) && ownedReplica(pid, dir)) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Pause and resume of one replica, and their one-sentence refusals. */
async function pauseAndResume(dir: string): Promise<void> {
  // Paused: still up, shown as paused, really stopped by the kernel; the other two still make a majority.
  assert.match((await succeeds(dir, 'pause', 'node-2')).stdout, /^paused node-2 \(SIGSTOP\)$/m);
  const paused = await replica(dir, 2);
  assert.deepEqual([paused.up, paused.paused], [true, true]);
  assert.equal(await tableState(dir, 2), 'paused');
  const state = kernelState(paused.pid!);
  if (state !== null) assert.equal(state, 'T', `node-2 (pid ${paused.pid}) is not stopped`);
  await proposeEventually(dir, 'x=1', '--via', 'node-1');

  // Errors are one sentence each, like kill's.
  await refused(dir, ['pause', 'node-2'], /^paxos: node-2 is already paused/);
  await refused(dir, ['resume', 'node-1'], /^paxos: node-1 is not paused$/);
  const unknown = await paxos(dir, 'pause', 'node-9');
  assert.notEqual(unknown.exitCode, 0);
  assert.equal(unknown.stderr.trim(), 'paxos: there is no node-9: this cluster has node-1 to node-3');

  assert.equal((await succeeds(dir, 'resume', 'node-2', '--json')).stdout.trim(), '{"node":2,"paused":false}');
  assert.deepEqual([(await replica(dir, 2)).paused, await tableState(dir, 2)], [false, 'up']);
}

/** A paused replica killed, then restarted from its data. */
async function killPausedAndRestart(dir: string, pids: Set<number>): Promise<void> {
  // A paused replica can be killed (SIGKILL reaches a stopped process), answered only once it is gone, and restarted.
  assert.equal((await succeeds(dir, 'pause', 'node-3', '--json')).stdout.trim(), '{"node":3,"paused":true}');
  const stoppedPid = (await replica(dir, 3)).pid!;
  assert.match((await succeeds(dir, 'kill', 'node-3')).stdout, /^killed node-3 \(SIGKILL\)$/m);
  assert.equal(
    isProcessAlive(stoppedPid),
    false,
    `paused node-3 (pid ${stoppedPid}) still alive after \`paxos kill\` returned`,
  );
  const killed = await replica(dir, 3);
  assert.deepEqual([killed.up, killed.paused], [false, false]);
  await refused(dir, ['pause', 'node-3'], /^paxos: node-3 is down; only a running replica can be paused$/);
  assert.match((await succeeds(dir, 'restart', 'node-3')).stdout, /^restarted node-3 from its data$/m);
  const back = await replica(dir, 3);
  assert.deepEqual([back.up, back.paused], [true, false]);
  pids.add(back.pid!);
}

/** kill --all and restart --all. */
async function crashAllAndRestart(dir: string, remember: (s: StatusJson) => void): Promise<void> {
  // The whole cluster crashes at once and comes back from its data.
  const beforeCrash = await status(dir);
  assert.match((await succeeds(dir, 'kill', '--all')).stdout, /^killed node-1, node-2, node-3 \(SIGKILL\)$/m);
  for (const r of beforeCrash.replicas)
    assert.equal(isProcessAlive(r.pid!), false, `node-${r.id} (pid ${r.pid}) alive after kill --all`);
  assert.deepEqual(
    (await status(dir)).replicas.map((r) => r.up),
    [false, false, false],
  );
  assert.match((await succeeds(dir, 'restart', '--all')).stdout, /^restarted node-1, node-2, node-3 from their data$/m);
  const restarted = await status(dir);
  remember(restarted);
  assert.deepEqual(
    restarted.replicas.map((r) => r.up),
    [true, true, true],
  );
  await proposeEventually(dir, 'y=2');
}

/** down with a replica paused. */
async function downWithPaused(dir: string, remember: (s: StatusJson) => void): Promise<void> {
  // down with a replica paused: it is continued so its SIGTERM lands, and no process is left.
  await succeeds(dir, 'pause', 'node-1');
  const last = await status(dir);
  remember(last);
  assert.equal(last.replicas.find((r) => r.id === 1)!.paused, true);
  await succeeds(dir, 'down');
  for (const pid of [last.orchestratorPid, ...last.replicas.map((r) => r.pid!)]) {
    assert.ok(await eventually(() => !isProcessAlive(pid), 10_000), `pid ${pid} survived paxos down`);
  }
}

test('pause, resume, kill of a paused replica, kill --all and restart --all, and down with a replica paused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-pause-'));
  const pids = new Set<number>();
  const remember = (s: StatusJson) => {
    pids.add(s.orchestratorPid);
    for (const r of s.replicas) if (r.pid !== null) pids.add(r.pid);
  };
  try {
    await succeeds(dir, 'up', '-n', '3', '--detach');
    const first = await status(dir);
    remember(first);
    assert.deepEqual(
      first.replicas.map((r) => [r.id, r.up, r.paused]),
      [
        [1, true, false],
        [2, true, false],
        [3, true, false],
      ],
    );

    await pauseAndResume(dir);
    await killPausedAndRestart(dir, pids);
    await crashAllAndRestart(dir, remember);

    // resume --all answers with what it resumed.
    await succeeds(dir, 'pause', 'node-2');
    assert.match((await succeeds(dir, 'resume', '--all')).stdout, /^resumed node-2 \(SIGCONT\)$/m);
    assert.equal((await succeeds(dir, 'resume', '--all', '--json')).stdout.trim(), '[]');

    await downWithPaused(dir, remember);
  } finally {
    await cleanup(dir, pids);
  }
});
