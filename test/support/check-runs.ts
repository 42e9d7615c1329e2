/**
 * The `paxos check` runs more than one test makes, and how their results are
 * read: the lab-mode plant run (stale local reads must be caught, on a local
 * cluster as on replicas across network namespaces), a run whose results
 * folder is deleted once judged, and a check that caught a bug.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runCheck } from './cli.js';

/** The settings of the stale-local-reads plant run: short, few keys, partitions and leader kills, a seed that exposes it. */
export const STALE_READS_RUN: readonly string[] = [
  '--time',
  '15s',
  '--clients',
  '6',
  '--keys',
  '2',
  '--nemesis',
  'partition,leader',
  '--seed',
  '5',
];

export interface CheckRun {
  readonly code: number | null;
  readonly results: Record<string, unknown>;
  readonly stderr: string;
}

/** A `paxos check --json` process's outcome: its exit code and the results on its last line of output. */
export function checkRunOf(p: { status: number | null; stdout: string; stderr: string }): CheckRun {
  const line = p.stdout.trim().split('\n').pop() ?? '{}';
  return {
    code: p.status,
    results: JSON.parse(line === '' ? '{}' : line) as Record<string, unknown>,
    stderr: p.stderr,
  };
}

/** One local `paxos check` run (support/cli.ts), its results folder deleted once `judge` is done, also when it fails. */
export function withCheckRun(args: string[], judge: (r: CheckRun & { readonly out: string }) => void): void {
  const r = runCheck(args);
  try {
    judge(r);
  } finally {
    rmSync(r.out, { recursive: true, force: true });
  }
}

/** The check caught a bug: its verdict is fail and it exits 1. */
export function assertCaught(r: CheckRun): void {
  assert.equal(r.results.verdict, 'fail', `${JSON.stringify(r.results.checks)}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, 1);
}

/** Some check, not only the verdict, failed. */
export function assertSomeCheckFails(r: CheckRun): void {
  const checks = r.results.checks as Record<string, { ok: boolean | 'unknown' }>;
  assert.ok(
    Object.values(checks).some((c) => c.ok === false),
    `some check fails: ${JSON.stringify(checks)}`,
  );
}

/** Stale local reads caught as they must be: the linearizability check fails; returns the keys it names. */
export function assertStaleReadsCaught(r: CheckRun): string[] {
  assertCaught(r);
  const lin = (r.results.checks as { linearizable?: { ok?: unknown; violatingKeys?: string[] } } | undefined)
    ?.linearizable;
  assert.equal(lin?.ok, false);
  return lin?.violatingKeys ?? [];
}
