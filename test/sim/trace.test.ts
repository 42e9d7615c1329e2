/**
 * `paxos sim --seed S --trace FILE` (issue 12): a seeded schedule recorded
 * through `SimOptions.traceSink` is a trace `readTrace` accepts, tells the
 * same story as the run's result, is the same bytes for the same seed, does
 * not change the run it records, and draws as a diagram through the CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Protocol } from '../../src/core/types.js';
import { runSchedule, type SimResult } from '../../src/sim/world.js';
import { readTrace, type TraceEvent } from '../../src/trace/format.js';
import { bin, HANG_MS, paxos, succeeds } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

function recorded(
  protocol: Protocol,
  seed: number,
  clusterSize = 3,
): { result: SimResult; text: string; events: TraceEvent[] } {
  const lines: string[] = [];
  const result = runSchedule({ protocol, clusterSize, seed, traceSink: (line) => lines.push(line) });
  const text = `${lines.join('\n')}\n`;
  return { result, text, events: readTrace(text, `seed ${seed}`) };
}

/** A path as one word for sh: test directories are temporary paths, but a space in one must not split it. */
function quote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

for (const protocol of ['multi', 'basic'] as const) {
  test(`${protocol}: a recorded seed is a readable trace that agrees with the run's result`, () => {
    const { result, events } = recorded(protocol, 7);
    assert.equal(result.ok, true, result.violation);
    assert.ok(events.length > 100, `seed 7 should record a real schedule, got ${events.length} events`);
    assert.ok(
      events.every((e) => e.ms !== undefined && e.tick === undefined),
      'the simulator records its virtual milliseconds on the ms clock',
    );
    // Every node that learns a value releases its own chosen event, so there are more events than values;
    // counted by instance they are exactly the values the run reports (the checker counts the same releases).
    const chosen = events.filter((e) => e.ev === 'chosen');
    assert.ok(chosen.length >= result.chosen);
    assert.equal(new Set(chosen.map((e) => e.instance)).size, result.chosen);
    assert.equal(
      events.filter((e) => e.ev === 'send').length,
      result.messages,
      'every message the run counts is one send',
    );
  });
}

test('every delivery and drop names a message sent earlier, to its addressee', () => {
  const { events } = recorded('multi', 8);
  const sentTo = new Map<number, number>();
  for (const e of events) {
    if (e.ev === 'send') sentTo.set(e.id, e.to);
    if (e.ev === 'deliver') assert.equal(sentTo.get(e.id), e.to, `deliver of message ${e.id} at seq ${e.seq}`);
    if (e.ev === 'drop') assert.ok(sentTo.has(e.id), `drop of message ${e.id} at seq ${e.seq}`);
  }
});

test('a schedule with faults records each of them: loss, cuts, down nodes, duplicates, crashes mid-Ready, restarts and snapshots', () => {
  for (const protocol of ['multi', 'basic'] as const) {
    const { events } = recorded(protocol, 8);
    const why = new Set(events.flatMap((e) => (e.ev === 'drop' ? [e.why.replace(/node-\d/, 'node-N')] : [])));
    assert.deepEqual([...why].sort(), ['network loss', 'node-N is down', 'partition cut'], protocol);
    const delivered = events.flatMap((e) => (e.ev === 'deliver' ? [e.id] : []));
    assert.ok(
      new Set(delivered).size < delivered.length,
      `${protocol}: a duplicated message is delivered twice under its one id`,
    );
    for (const kind of ['crash', 'restart', 'partition', 'heal', 'persist', 'chosen', 'note'] as const) {
      assert.ok(
        events.some((e) => e.ev === kind),
        `${protocol}: no ${kind} event`,
      );
    }
    assert.ok(
      events.some((e) => e.ev === 'note' && /crashed mid-Ready, at /.test(e.text)),
      `${protocol}: the crash point is narrated`,
    );
    assert.ok(
      events.some((e) => e.ev === 'persist' && /^(snapshot @#\d+ \(\d+ keys?\), |compacted )/.test(e.what)),
      `${protocol}: a checkpoint is persisted`,
    );
    assert.ok(
      events.some((e) => e.ev === 'note' && /^client \d → node-\d/.test(e.text)),
      `${protocol}: client requests are narrated`,
    );
  }
});

test('the same seed gives the same bytes, and recording does not change the run', () => {
  const first = recorded('multi', 16);
  const second = recorded('multi', 16);
  assert.equal(first.text, second.text);
  assert.deepEqual(runSchedule({ protocol: 'multi', clusterSize: 3, seed: 16 }), first.result);
});

test('paxos sim --seed 7 -n 3 --trace FILE writes a trace paxos trace draws as SVG and Mermaid; a range is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-sim-trace-'));
  try {
    const file = join(dir, 'seed7.jsonl');
    const sim = await succeeds(dir, 'sim', '--seed', '7', '-n', '3', '--trace', file);
    assert.match(sim.stdout, /^wrote the trace \(\d+ events\) to .*seed7\.jsonl/m);
    const events = readTrace(readFileSync(file, 'utf8'), file);
    assert.ok(events.length > 100, `the file holds the whole schedule, got ${events.length} events`);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const svg = join(dir, 'seed7.svg');
    await succeeds(dir, 'trace', file, '--svg', svg);
    assert.match(readFileSync(svg, 'utf8'), /^<svg /);
    const mermaid = await succeeds(dir, 'trace', file, '--mermaid', '-');
    assert.match(mermaid.stdout, /^sequenceDiagram\n/);
    const onStdout = await succeeds(dir, 'sim', '--seed', '7', '-n', '3', '--trace', '-');
    // execa strips the final newline of stdout; the trace file ends in one.
    assert.equal(`${onStdout.stdout}\n`, readFileSync(file, 'utf8'), 'with -, stdout is the trace and nothing else');
    assert.match(onStdout.stderr, /wrote the trace \(\d+ events\) to stdout/);
    // Piped straight into paxos trace: its stdin is empty while the schedule runs, which it must wait out.
    const piped = await execa(
      `${quote(process.execPath)} ${quote(bin)} sim --seed 7 -n 3 --trace - 2>/dev/null | ${quote(process.execPath)} ${quote(bin)} trace - --json`,
      {
        shell: true,
        cwd: repoRoot(),
        env: { ...process.env, PAXOS_HOME: dir },
        reject: false,
        timeout: HANG_MS,
      },
    );
    assert.equal(piped.exitCode, 0, piped.stderr);
    assert.equal((JSON.parse(piped.stdout) as { events: number }).events, events.length);
    const range = await paxos(dir, 'sim', '--seeds', '3', '--trace', file);
    assert.equal(range.exitCode, 2);
    assert.match(
      range.stderr.trim(),
      /^paxos: --trace records one schedule, so it needs --seed N rather than a range of seeds$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
