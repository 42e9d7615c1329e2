/**
 * Runs the built `paxos` binary as a user would, in its own PAXOS_HOME, for
 * the CLI tests: one place for how a command is started and judged.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './paths.js';

export const bin = join(repoRoot(), 'bin', 'paxos.js');
/** Far above what any command needs: reaching it means the command hung, which is itself a failure. */
export const HANG_MS = 30_000;

export async function paxos(dir: string, ...args: string[]) {
  const r = await execa(process.execPath, [bin, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, PAXOS_HOME: dir },
    reject: false,
    timeout: HANG_MS,
  });
  assert.equal(r.timedOut, false, `paxos ${args.join(' ')} hung`);
  return r;
}

export async function succeeds(dir: string, ...args: string[]) {
  const r = await paxos(dir, ...args);
  assert.equal(r.exitCode, 0, `paxos ${args.join(' ')}: exit ${r.exitCode}, stderr: ${r.stderr}`);
  return r;
}

/** One `paxos check --json` run in a fresh results folder (its own PAXOS_HOME too); bounded at 3 minutes. */
export function runCheck(args: string[]): {
  code: number | null;
  results: Record<string, unknown>;
  out: string;
  stderr: string;
} {
  const out = mkdtempSync(join(tmpdir(), 'paxos-check-'));
  const r = spawnSync(process.execPath, [bin, 'check', ...args, '--out', out, '--json'], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, PAXOS_HOME: out },
  });
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  return { code: r.status, results: JSON.parse(line) as Record<string, unknown>, out, stderr: r.stderr };
}

/** The pids a cluster record names (the orchestrator's and each replica's), so a test can make sure none outlives it. */
export function recordedPids(dir: string): number[] {
  try {
    const c = (
      JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as {
        cluster?: { orchestratorPid: number; replicas: { pid: number | null }[] };
      }
    ).cluster;
    return c === undefined
      ? []
      : [c.orchestratorPid, ...c.replicas.map((r) => r.pid).filter((p): p is number => p !== null)];
  } catch {
    return [];
  }
}
