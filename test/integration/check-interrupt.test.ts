/**
 * Ctrl-C on `paxos check` stops the cluster the check started (it runs
 * detached, so it would otherwise outlive the check unseen), says so, and
 * exits 130 with no verdict.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { isProcessAlive } from '../../src/cluster/record.js';
import { bin, paxos } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

function orchestratorPid(home: string): number | null {
  try {
    return (
      (JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8')) as { cluster?: { orchestratorPid: number } })
        .cluster?.orchestratorPid ?? null
    );
  } catch {
    return null;
  }
}

test('Ctrl-C on paxos check, even twice, stops its cluster, says so, and exits 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-check-int-'));
  const out = join(dir, 'out');
  const clusterHome = join(out, 'cluster');
  try {
    const check = execa(process.execPath, [bin, 'check', '-n', '1', '--time', '60s', '--clients', '1', '--out', out], {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: 120_000,
    });
    let pid: number | null = null;
    await eventually(() => {
      pid = orchestratorPid(clusterHome);
      return pid !== null;
    }, 60_000);
    // Let the check get past starting its cluster into the run.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    check.kill('SIGINT');
    // An impatient second Ctrl-C while the cluster is being stopped must not cut the stop short.
    await new Promise((resolve) => setTimeout(resolve, 50));
    check.kill('SIGINT');
    const r = await check;
    assert.equal(r.exitCode, 130, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `interrupted: stopping the check's cluster in ${clusterHome}; there is no verdict, the run did not finish`,
      ),
    );
    assert.match(r.stderr, /stopped the cluster of 1 replicas/);
    assert.equal(isProcessAlive(pid!), false, "the check's orchestrator still runs");
    assert.equal(existsSync(join(out, 'results.json')), false);
  } finally {
    if (existsSync(clusterHome)) await paxos(clusterHome, 'down');
    rmSync(dir, { recursive: true, force: true });
  }
});
