/**
 * A live `paxos scenario run` interrupted mid-run (Ctrl-C, or the terminal
 * hanging up on it) stops its replicas, deletes its scratch home and exits
 * 130: it used to leave the scratch directory behind. Each run gets a TMPDIR
 * of its own, so the scratch home it makes is the only paxos-scenario-*
 * directory there; everything is removed afterwards, also on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { bin, HANG_MS } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const scratchHomes = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('paxos-scenario-'));

for (const signal of ['SIGINT', 'SIGHUP'] as const) {
  test(`${signal} during a live scenario run: exit 130, no scratch home left behind`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'paxos-scenario-int-'));
    const run = execa(process.execPath, [bin, 'scenario', 'run', 'multi-failover', '--live'], {
      cwd: repoRoot(),
      env: { ...process.env, TMPDIR: tmp, PAXOS_HOME: join(tmp, 'home') },
      reject: false,
      timeout: HANG_MS,
    });
    try {
      assert.ok(await eventually(() => scratchHomes(tmp).length === 1, 20_000), 'the run made its scratch home');
      run.kill(signal);
      const r = await run;
      assert.equal(r.timedOut, false, 'the run hung after the signal');
      assert.equal(
        r.exitCode,
        130,
        `exit ${r.exitCode} (signal ${r.signal}), stdout: ${r.stdout.slice(-300)}, stderr: ${r.stderr}`,
      );
      assert.deepEqual(scratchHomes(tmp), [], 'the scratch home outlived the run');
    } finally {
      run.kill('SIGKILL');
      await run;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
