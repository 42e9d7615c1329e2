/**
 * Ctrl-C on the long-running commands, checked on the binary with a real
 * SIGINT: `paxos sim` prints the summary of the seeds done so far and exits
 * 130; `paxos bench` stops its replicas, removes its temporary PAXOS_HOME and
 * exits 130. Loopback only, each test in its own temporary directories, every
 * wait bounded, and everything a test starts is stopped in its `finally`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isProcessAlive } from '../../src/cluster/record.js';
import { eventually, sleep } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const bin = join(repoRoot(), 'bin', 'paxos.js');

interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal it did not handle). */
  readonly exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
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
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The exit code, or a failure if the process has not exited within `ms`. */
async function exitWithin(r: Running, ms: number): Promise<number | null> {
  const timeout = sleep(ms).then(() => 'timeout' as const);
  const result = await Promise.race([r.exited, timeout]);
  assert.notEqual(result, 'timeout', `the process did not exit within ${ms} ms of SIGINT; stderr: ${r.stderr()}`);
  return result as number | null;
}

function stillRunning(r: Running): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

/** CPU seconds a process has used, from /proc; null where there is no /proc. */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * Waits until the simulator has been running seeds for about a second. Node's
 * start-up alone can take seconds on a loaded machine, so wall time is a poor
 * guide: CPU time past the start-up cost is used where /proc exists.
 */
async function simHasRun(pid: number): Promise<void> {
  if (cpuSeconds(pid) === null) return sleep(4000);
  await eventually(() => (cpuSeconds(pid) ?? Infinity) >= 2.5, 60_000, 50);
}

test('paxos sim: Ctrl-C prints the summary of the seeds done so far and exits 130', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-int-'));
  const sim = start(['sim', '--seeds', '100000', '--from', '1', '-n', '3'], { PAXOS_HOME: home });
  try {
    await simHasRun(sim.child.pid!);
    assert.ok(stillRunning(sim), `sim ended before the signal: ${sim.stdout()} ${sim.stderr()}`);
    sim.child.kill('SIGINT');
    const code = await exitWithin(sim, 15_000);
    assert.equal(code, 130, `stdout: ${sim.stdout()} stderr: ${sim.stderr()}`);
    const summary = /^schedules (\d+) /m.exec(sim.stdout());
    assert.ok(summary, `no summary line in: ${sim.stdout()}`);
    const n = Number(summary[1]);
    assert.ok(n > 0 && n < 100_000, `schedules ${n}`);
    assert.match(sim.stdout(), new RegExp(`seeds 1\\.\\.${n}\\b`));
    assert.match(sim.stdout(), /interrupted after \d+ of 100000 schedules/);
  } finally {
    if (stillRunning(sim)) sim.child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

/** The bench's own PAXOS_HOME under `tmp`, once its cluster record is written (the replicas are registered). */
function benchHome(tmp: string): string | undefined {
  const dir = readdirSync(tmp).find((f) => f.startsWith('paxos-bench-'));
  return dir !== undefined && existsSync(join(tmp, dir, 'cluster.json')) ? join(tmp, dir) : undefined;
}

function replicaPids(home: string): number[] {
  const record = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8')) as {
    cluster: { replicas: { pid: number | null }[] };
  };
  return record.cluster.replicas.map((r) => r.pid).filter((p): p is number => p !== null);
}

test('paxos bench: Ctrl-C stops the replicas, removes the temporary directory and exits 130', async () => {
  // The bench makes its PAXOS_HOME with os.tmpdir(), which follows TMPDIR: a private one makes the dir easy to find and check.
  const tmp = mkdtempSync(join(tmpdir(), 'paxos-int-tmp-'));
  const home = mkdtempSync(join(tmpdir(), 'paxos-int-'));
  const bench = start(['bench', '-n', '3', '--ops', '1000000', '--concurrency', '4'], {
    PAXOS_HOME: home,
    TMPDIR: tmp,
  });
  let pids: number[] = [];
  try {
    assert.ok(
      await eventually(() => benchHome(tmp) !== undefined || !stillRunning(bench), 60_000, 50),
      'the bench cluster did not come up',
    );
    const dir = benchHome(tmp);
    assert.ok(dir !== undefined, `the bench ended before its cluster was up: ${bench.stderr()}`);
    pids = replicaPids(dir);
    assert.equal(pids.length, 3);
    // Let the load start, so the signal lands mid-measurement rather than between steps.
    await sleep(500);
    bench.child.kill('SIGINT');
    const code = await exitWithin(bench, 20_000);
    assert.equal(code, 130, `stderr: ${bench.stderr()}`);
    assert.equal(existsSync(dir), false, `${dir} was left behind`);
    assert.deepEqual(readdirSync(tmp), [], 'the temporary directory has leftovers');
    assert.ok(
      await eventually(() => pids.every((p) => !isProcessAlive(p)), 5000),
      `replicas still running: ${pids.filter(isProcessAlive).join(', ')}`,
    );
  } finally {
    cleanUpBench(bench, pids, [tmp, home]);
  }
});

test('paxos bench --soak: Ctrl-C prints the partial interval and the summary so far, stops the replicas and exits 130', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'paxos-int-tmp-'));
  const home = mkdtempSync(join(tmpdir(), 'paxos-int-'));
  const bench = start(['bench', '--soak', '10m', '--interval', '500', '-n', '3', '--concurrency', '8'], {
    PAXOS_HOME: home,
    TMPDIR: tmp,
  });
  let pids: number[] = [];
  try {
    // The first row is printed once 500 values are chosen: the cluster is up and the load is running.
    assert.ok(
      await eventually(() => /^\s+1\s+500\s/m.test(bench.stdout()) || !stillRunning(bench), 60_000, 50),
      `no first row: ${bench.stdout()} ${bench.stderr()}`,
    );
    const dir = benchHome(tmp);
    assert.ok(dir !== undefined, `the soak ended before the signal: ${bench.stderr()}`);
    pids = replicaPids(dir);
    bench.child.kill('SIGINT');
    const code = await exitWithin(bench, 20_000);
    assert.equal(code, 130, `stderr: ${bench.stderr()}`);
    assert.match(bench.stdout(), /\(partial\)/);
    assert.match(bench.stdout(), /too few whole intervals|last quarter vs second quarter/);
    assert.equal(existsSync(dir), false, `${dir} was left behind`);
    assert.ok(
      await eventually(() => pids.every((p) => !isProcessAlive(p)), 5000),
      `replicas still running: ${pids.filter(isProcessAlive).join(', ')}`,
    );
  } finally {
    cleanUpBench(bench, pids, [tmp, home]);
  }
});

/** Whatever a bench test leaves when it fails midway: the bench process, its replicas and its directories. */
function cleanUpBench(
  bench: Parameters<typeof stillRunning>[0],
  pids: readonly number[],
  dirs: readonly string[],
): void {
  if (stillRunning(bench)) bench.child.kill('SIGKILL');
  for (const p of pids) if (isProcessAlive(p)) process.kill(p, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

test('paxos up in the foreground: two quick Ctrl-Cs stop every replica, not the orchestrator alone', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-int-up-'));
  // Not a terminal, so no dashboard: the plain event lines, as under a supervisor.
  const up = start(['up', '-n', '3'], { PAXOS_HOME: home });
  let pids: number[] = [];
  try {
    const upAndRunning = () =>
      existsSync(join(home, 'cluster.json')) && replicaPids(home).filter((p) => isProcessAlive(p)).length === 3;
    assert.ok(await eventually(() => upAndRunning() || !stillRunning(up), 60_000, 50), 'the cluster did not come up');
    pids = replicaPids(home);
    assert.equal(pids.length, 3, `stderr: ${up.stderr()}`);
    // A replica stopped behind the orchestrator's back holds its SIGTERM until the grace SIGKILL 3 s later, so the
    // second Ctrl-C surely lands while the replicas are being stopped. (Without it the three can be gone within 20 ms,
    // and a signal that reaches a process already exiting kills it, whatever it listens for: the test measured nothing.)
    process.kill(pids[1], 'SIGSTOP');
    up.child.kill('SIGINT');
    // The impatient second Ctrl-C.
    await sleep(20);
    assert.ok(stillRunning(up), `the orchestrator exited before the second Ctrl-C; stdout: ${up.stdout()}`);
    up.child.kill('SIGINT');
    const code = await exitWithin(up, 30_000);
    assert.equal(code, 0, `stderr: ${up.stderr()}`);
    assert.ok(
      await eventually(() => pids.every((p) => !isProcessAlive(p)), 5000),
      `replicas still running after the orchestrator exited: ${pids.filter(isProcessAlive).join(', ')}`,
    );
  } finally {
    cleanUpBench(up, pids, [home]);
  }
});
