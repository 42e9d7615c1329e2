/**
 * `paxos trace` run as a user would: the summary of the walk-through, the
 * three diagrams written to files and to stdout, a trace read from stdin, and
 * one sentence with exit 2 for a malformed trace or conflicting flags. Each
 * test works in its own temporary directory.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { WALKTHROUGH_FILE, walkthroughText } from './fixture.js';

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-trace-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('without an output flag it summarizes: events by kind, replicas, the chosen value', () =>
  withDir(async (dir) => {
    const r = await succeeds(dir, 'trace', WALKTHROUGH_FILE);
    assert.match(r.stdout, /42 events, seq 1–42, ticks 0–12/);
    assert.match(r.stdout, /^replicas: node-1, node-2, node-3$/m);
    assert.match(r.stdout, /^events: 14 send, 14 deliver, 8 persist, 3 chosen, 3 note$/m);
    assert.match(r.stdout, /^ {2}x: 7 at 1\.3 on node-3, node-1, node-2$/m);
    assert.ok(r.stdout.trim().split('\n').length <= 24, 'the summary fits on one screen');
    const json = JSON.parse((await succeeds(dir, 'trace', WALKTHROUGH_FILE, '--json')).stdout) as {
      events: number;
      chosen: unknown[];
    };
    assert.equal(json.events, 42);
    assert.deepEqual(json.chosen, [{ instance: 'x', values: [{ value: '7', ballot: '1.3', nodes: [3, 1, 2] }] }]);
  }));

test('writes each diagram to its file, one to stdout with -, and reads the trace from stdin with -', () =>
  withDir(async (dir) => {
    const svg = join(dir, 'w.svg');
    const shiviz = join(dir, 'w.log');
    const r = await succeeds(dir, 'trace', WALKTHROUGH_FILE, '--svg', svg, '--shiviz', shiviz, '--mermaid', '-');
    assert.match(r.stdout, /^sequenceDiagram\n/);
    assert.match(r.stderr, /wrote the space-time diagram to .*w\.svg/);
    assert.match(readFileSync(svg, 'utf8'), /^<svg /);
    assert.match(readFileSync(shiviz, 'utf8'), /^\(\?<host>/);
    const piped = await execa(process.execPath, [bin, 'trace', '-', '--from', '10', '--to', '20', '--json'], {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: dir },
      input: walkthroughText(),
      reject: false,
      timeout: HANG_MS,
    });
    assert.equal(piped.exitCode, 0, piped.stderr);
    assert.equal((JSON.parse(piped.stdout) as { events: number }).events, 11);
    const fromEnv = await execa(process.execPath, [bin, 'trace', WALKTHROUGH_FILE], {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: dir, PAXOS_SVG: join(dir, 'env.svg') },
      reject: false,
      timeout: HANG_MS,
    });
    assert.equal(fromEnv.exitCode, 0, fromEnv.stderr);
    assert.ok(existsSync(join(dir, 'env.svg')), 'PAXOS_SVG names the SVG file');
  }));

test('a malformed trace, a missing file and conflicting flags are one sentence each', () =>
  withDir(async (dir) => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"seq":1,"tick":0,"ev":"heal"}\n{"seq":2,"tick":1,"ev":"crash","node":"two"}\n');
    const cases: [string[], number, RegExp][] = [
      [['trace', bad], 2, /^paxos: .*bad\.jsonl line 2: node is invalid \(expected number, got "two"\)$/],
      [['trace', join(dir, 'none.jsonl')], 1, /^paxos: there is no trace file .*none\.jsonl$/],
      [
        ['trace', WALKTHROUGH_FILE, '--svg', '-', '--shiviz', '-'],
        2,
        /^paxos: only one of --svg, --mermaid and --shiviz can write to stdout/,
      ],
      [['trace', WALKTHROUGH_FILE, '--from', '30', '--to', '5'], 2, /^paxos: --from 30 is after --to 5/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await paxos(dir, ...args);
      assert.equal(r.exitCode, code, `paxos ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), pattern);
    }
  }));
