/**
 * `paxos check --nemesis disk` end to end, through the binary (issue 22): a
 * short run of each protocol whose disk faults cut a log and wipe a data
 * directory must pass, with each damaged replica refused at its start and
 * brought back (Multi: replaced; Basic: its at-crash data put back), and a
 * cluster with a planted bug must fail: amnesia (damaged data trusted), and
 * ack-before-fsync (writes acknowledged 200 ms before they reach the log, so
 * a crash loses acknowledged votes).
 * Each run starts and stops its own cluster in its own results folder, which
 * is deleted afterwards; `paxos check` bounds its own run, and the helper
 * kills it after 180 s.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCheck } from '../support/cli.js';

interface DiskOutcome {
  node: number;
  damage: string;
  done: string;
  started: boolean;
  refusal?: string;
  broughtBack?: string;
}

/** A run of `seconds` (10 s: one or two disk faults; a plant gets 15 s, two faults, since one fault's exposure is a matter of timing). */
function check(args: string[], seconds = 10) {
  return runCheck(['-n', '3', '--time', `${seconds}s`, '--clients', '4', '--keys', '3', '--nemesis', 'disk', ...args]);
}

function cleanUp(out: string): void {
  rmSync(out, { recursive: true, force: true });
}

for (const protocol of ['multi', 'basic'] as const) {
  test(`paxos check --nemesis disk: ${protocol} passes while a minority's log is cut and its data wiped`, () => {
    const r = check(['--protocol', protocol, '--seed', '6']);
    try {
      assert.equal(r.results.verdict, 'pass', `${JSON.stringify(r.results.checks)}\n${r.stderr}`);
      assert.equal(r.code, 0);
      const disk = r.results.disk as DiskOutcome[];
      assert.deepEqual(
        disk.map((d) => d.damage),
        ['truncate', 'wipe'],
        'the schedule of seed 6 cuts a log, then wipes a directory',
      );
      for (const d of disk) {
        assert.equal(d.started, false, `node-${d.node} must refuse damaged data (${d.done})`);
        assert.match(d.refusal ?? '', new RegExp(`^node-${d.node}('s data directory| does not start)`));
        assert.match(
          d.broughtBack ?? '',
          protocol === 'multi'
            ? /^recovered on a fresh directory \(paxos recover\)$/
            : /^its data put back as the crash left it, and started$/,
        );
      }
      const refused = (r.results.checks as { refusedNeverChosen: { ok: boolean; refusedWrites: number } })
        .refusedNeverChosen;
      assert.equal(refused.ok, true);
      // The copies the nemesis took are gone with the run; the report names the new check.
      assert.deepEqual(
        readdirSync(r.out).filter((f) => f.startsWith('disk-copies-')),
        [],
      );
      assert.match(readFileSync(join(r.out, 'timeline.html'), 'utf8'), /refused answers never chosen/);
      assert.ok(existsSync(join(r.out, 'cluster', 'data')), "the check's cluster home is left for inspection");
    } finally {
      cleanUp(r.out);
    }
  });
}

test('paxos check --nemesis disk catches planted amnesia (a wiped or damaged replica trusted)', () => {
  const r = check(['--protocol', 'multi', '--seed', '1', '--plant', 'amnesia'], 15);
  try {
    assert.equal(r.results.verdict, 'fail', `${JSON.stringify(r.results.checks)}\n${r.stderr}`);
    assert.equal(r.code, 1);
    const disk = r.results.disk as DiskOutcome[];
    assert.deepEqual(
      disk.map((d) => [d.damage, d.started]),
      [
        ['wipe', true],
        ['corrupt', true],
      ],
      'with the plant, a wiped replica and one with a flipped bit both start',
    );
    const checks = r.results.checks as Record<string, { ok: boolean | 'unknown' }>;
    assert.ok(
      Object.values(checks).some((c) => c.ok === false),
      `some check fails: ${JSON.stringify(checks)}`,
    );
  } finally {
    cleanUp(r.out);
  }
});

test('paxos check --nemesis disk catches planted ack-before-fsync (a crash loses acknowledged votes)', () => {
  const r = check(['--protocol', 'multi', '--seed', '18', '--plant', 'ack-before-fsync']);
  try {
    assert.equal(r.results.verdict, 'fail', `${JSON.stringify(r.results.checks)}\n${r.stderr}`);
    assert.equal(r.code, 1);
    const disk = r.results.disk as DiskOutcome[];
    assert.deepEqual(
      disk.map((d) => [d.damage, d.started]),
      [['crash', true]],
      'seed 18 crashes a replica and damages nothing: only what the lying cache held is lost',
    );
    const checks = r.results.checks as Record<string, { ok: boolean | 'unknown' }>;
    assert.ok(
      Object.values(checks).some((c) => c.ok === false),
      `some check fails: ${JSON.stringify(checks)}`,
    );
  } finally {
    cleanUp(r.out);
  }
});
