/**
 * `paxos replay` (issue 12) on recordings made in-process: the simulator runs
 * the real replica shell, and SimOptions.inputRecorder gives each incarnation
 * the same InputLog a live replica writes. A recorded seed must replay with
 * every Ready identical and its chosen values exactly the released ones; one
 * changed input must be caught as a divergence at its node; and each check
 * across replicas must fail when fed a run that breaks it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChosenValue, NodeId, NodeView, Protocol, Ready } from '../../src/core/types.js';
import { BufferedLineFile, InputLog } from '../../src/node/input-log.js';
import type { PeerMessage } from '../../src/node/replica.js';
import { ReplayChecks } from '../../src/replay/checks.js';
import { parseLog, type Recording } from '../../src/replay/read.js';
import { replayRecordings } from '../../src/replay/replay.js';
import { runSchedule } from '../../src/sim/world.js';
import { readTrace, tracedInstance } from '../../src/trace/format.js';
import { paxos } from '../support/cli.js';

interface Recorded {
  readonly texts: Map<string, string[]>;
  readonly released: Set<string>;
}

/** Runs one seed with every incarnation's inputs recorded in memory, and the trace's released chosen values. */
function record(protocol: Protocol, seed: number): Recorded {
  const texts = new Map<string, string[]>();
  const trace: string[] = [];
  const result = runSchedule({
    protocol,
    clusterSize: 3,
    seed,
    traceSink: (line) => trace.push(line),
    inputRecorder: (node, incarnation) => {
      const lines: string[] = [];
      texts.set(`node-${node}.incarnation-${incarnation}`, lines);
      return new InputLog(incarnation, { write: (line) => lines.push(line), close: () => undefined });
    },
  });
  assert.equal(result.ok, true, result.violation);
  const released = new Set(
    readTrace(`${trace.join('\n')}\n`, `seed ${seed}`).flatMap((e) =>
      e.ev === 'chosen' ? [`${e.instance} ${e.value}`] : [],
    ),
  );
  return { texts, released };
}

function recordingsOf(texts: Map<string, string[]>): Recording[] {
  return [...texts]
    .map(([name, lines]) => parseLog(name, `${lines.join('\n')}\n`))
    .sort((a, b) => a.start.node - b.start.node || a.start.incarnation - b.start.incarnation);
}

/** Seeds whose schedules restart replicas (7 incarnations of 3 replicas in basic seed 5, 9 of 6 in multi seed 7). */
const SEEDS = { multi: 7, basic: 5 } as const;

for (const protocol of ['multi', 'basic'] as const) {
  test(`${protocol}: a recorded seed replays with every Ready identical and exactly its chosen values`, () => {
    const seed = SEEDS[protocol];
    const { texts, released } = record(protocol, seed);
    const report = replayRecordings(recordingsOf(texts));
    assert.deepEqual(report.divergences, []);
    assert.deepEqual(report.checks.violations, []);
    assert.equal(report.ok, true);
    assert.ok(
      report.readies > 100 && report.checks.messagesChecked > 100,
      `a real schedule: ${report.readies} Readies, ${report.checks.messagesChecked} messages`,
    );
    assert.ok(
      report.incarnations.length > 3,
      `seed ${seed} restarts some replica: ${report.incarnations.length} incarnations`,
    );
    // Values learned in a Ready that a crash kept from release are in the replay and not in the trace; every released one is in both.
    const replayed = new Set(report.checks.chosen.map((c) => `${c.instance} ${c.value}`));
    for (const r of released) assert.ok(replayed.has(r), `released ${r} is chosen in the replay`);
    const instances = new Set(report.checks.chosen.map((c) => c.instance));
    for (const r of released) instances.delete(r.split(' ')[0]);
    assert.ok(instances.size <= 2, `replay learned few values nobody released: ${[...instances].join(', ')}`);
  });
}

/** The first client request in the recording whose value was chosen: changing it must change what its node sends. */
function chosenRequest(r: Recorded): { name: string; lines: string[]; at: number } {
  for (const [name, lines] of r.texts) {
    const at = lines.findIndex((line) => {
      const parsed = JSON.parse(line) as {
        t: string;
        input?: { type: string; request?: { command: { op: string; key: string; value: string } } };
      };
      const c = parsed.input?.request?.command;
      return c?.op === 'set' && [...r.released].some((x) => x.endsWith(` ${c.key}=${c.value}`));
    });
    if (at >= 0) return { name, lines, at };
  }
  throw new Error('no request of the recording was chosen');
}

test('one changed input is caught as a divergence at its node, no earlier than that input', () => {
  const recorded = record('multi', 7);
  assert.equal(replayRecordings(recordingsOf(recorded.texts)).ok, true, 'untouched, it replays');
  const { name, lines, at } = chosenRequest(recorded);
  lines[at] = lines[at].replace(/"value":"([^"]*)"/, '"value":"$1-tampered"');
  const texts = recorded.texts;
  const report = replayRecordings(recordingsOf(texts));
  assert.equal(report.ok, false);
  const d = report.divergences[0];
  assert.ok(d !== undefined, 'the tampered request is caught');
  assert.equal(`node-${d.node}.incarnation-${d.incarnation}`, name);
  // A request can wait in the core (no leader yet) and show only when it is proposed: the divergence is never before it.
  const readiesBefore = lines.slice(0, at).filter((line) => line.startsWith('{"t":"ready"')).length;
  assert.ok(
    d.ready > readiesBefore,
    `diverged at Ready #${d.ready}, after the tampered input (which follows Ready #${readiesBefore})`,
  );
  assert.notEqual(d.recorded, d.replayed);
});

/** A recording with only its start line, for feeding the checks by hand. */
function started(
  node: NodeId,
  incarnation: number,
  recovered: unknown[],
  ending: Recording['ending'] = 'end',
): Recording {
  return {
    file: `node-${node}`,
    ending,
    steps: [],
    start: {
      t: 'start',
      node,
      incarnation,
      protocol: 'multi',
      config: { id: node, clusterSize: 3, randomSeed: 1 },
      recovered,
      snapshot: null,
    },
  };
}

function ready(o: Partial<Ready<PeerMessage, unknown>>): Ready<PeerMessage, unknown> {
  return {
    persist: [],
    persistLazy: [],
    earlyMessages: [],
    afterPersist: null,
    messages: [],
    replies: [],
    chosen: [],
    events: [],
    checkpoint: null,
    ...o,
  };
}

const chosen = (slot: number, value: string): ChosenValue => ({
  instance: String(slot),
  value,
  valueId: value,
  ballot: null,
});

test('the checks across replicas catch split values, forged messages, lost records and replies without a value', () => {
  const checks = new ReplayChecks();
  for (const node of [1, 2]) checks.started(started(node, 1, []));
  checks.ready(1, ready({ chosen: [chosen(1, 'x=1')], persist: [{ t: 'a' }, { t: 'b' }] }));
  checks.ready(2, ready({ chosen: [chosen(1, 'x=2'), { ...chosen(1, 'x=3'), epoch: 1 }] }));
  const forged = { type: 'heartbeat', from: 1, to: 2 } as unknown as PeerMessage;
  checks.input(2, { type: 'message', message: forged });
  checks.started(started(1, 2, [{ t: 'a' }, { t: 'c' }]));
  checks.ready(
    2,
    ready({
      replies: [
        {
          requestId: 'r1',
          ok: true,
          op: 'set',
          key: 'y',
          value: '5',
          slot: 4,
          ballot: { round: 1, node: 2 } as never,
          roundTrips: 1,
        },
      ],
    }),
  );
  const v = checks.finish().violations;
  assert.equal(v.length, 4, v.join('\n'));
  assert.match(v[0], /^agreement: node-2 learned x=2 for 1, but node-1 learned x=1/);
  assert.match(v[1], /^recovery: node-1 incarnation 2 recovered record 2 as \{"t":"c"\}/);
  assert.match(v[2], /^messages: node-2 took .* from node-1, whose replayed core never sent it/);
  assert.match(v[3], /^replies: node-2 answered set y ok \(5 in slot 4\)/);
});

test('what a log cut short by a kill cannot show is unverified, not a violation', () => {
  const checks = new ReplayChecks();
  checks.started(started(1, 1, [], 'cut'));
  checks.started(started(2, 1, []));
  checks.input(2, { type: 'message', message: { type: 'heartbeat', from: 1, to: 2 } as unknown as PeerMessage });
  checks.started(started(1, 2, [{ t: 'written before the kill, after the log lost its tail' }]));
  const r = checks.finish();
  assert.deepEqual(r.violations, []);
  assert.equal(r.messagesUnverified, 1);
});

test('chosen values are keyed by epoch: a dead slot of an old epoch is not a split', () => {
  const checks = new ReplayChecks();
  checks.started(started(1, 1, []));
  checks.ready(
    1,
    ready({
      chosen: [
        { ...chosen(5, 'x=1'), epoch: 1 },
        { ...chosen(5, 'x=2'), epoch: 2 },
      ],
    }),
  );
  const r = checks.finish();
  assert.deepEqual(r.violations, []);
  assert.deepEqual(
    r.chosen.map((c) => c.instance),
    [tracedInstance({ instance: '5', epoch: 1 }), '5@2'],
  );
});

test('an input log coalesces ticks, stops at its cap with one capped line, and reads back as capped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-inputs-'));
  try {
    const file = join(dir, 'node-1.incarnation-1.inputs.jsonl');
    const said: string[] = [];
    const log = new InputLog(1, new BufferedLineFile(file, (line) => said.push(line), { lines: 6, bytes: 1 << 20 }));
    log.started({
      node: 1,
      protocol: 'multi',
      config: { id: 1, clusterSize: 3, randomSeed: 9 },
      recovered: [],
      snapshot: null,
    });
    for (let i = 0; i < 40; i++) log.input({ type: 'tick' });
    log.ready(ready({}), { id: 1 } as NodeView);
    for (let i = 0; i < 10; i++)
      log.input({ type: 'persisted', note: { ballot: { round: 1, node: 1 } as never, slots: [i] } });
    log.close();
    const rec = parseLog(file, readFileSync(file, 'utf8'));
    assert.equal(rec.ending, 'capped');
    assert.deepEqual(
      rec.steps.map((s) => s.t),
      ['ticks', 'ready', 'in', 'in', 'in'],
    );
    assert.deepEqual(rec.steps[0], { t: 'ticks', count: 40 });
    assert.equal(said.length, 1, said.join('\n'));
    assert.match(said[0], /stopped recording inputs after 6 lines/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last line is dropped and the log counts as cut short; a damaged line elsewhere is one clear error', () => {
  const start = JSON.stringify(started(1, 1, []).start);
  const rec = parseLog('a', `${start}\n{"t":"ticks","count":3}\n{"t":"re`);
  assert.equal(rec.ending, 'cut');
  assert.equal(rec.steps.length, 1);
  assert.throws(() => parseLog('b', `${start}\nnot json\n{"t":"end"}\n`), /b line 2 is not JSON/);
  assert.throws(() => parseLog('c', `{"t":"end"}\n`), /c does not begin with a start line/);
});

test('paxos replay of a path with no recording is one operating-error sentence, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-replay-cli-'));
  try {
    const r = await paxos(dir, 'replay', join(dir, 'none.jsonl'));
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^paxos: there is no recording at \S+none\.jsonl: neither it nor \S+none\.jsonl\.parts is a directory; record a run with `paxos up --trace \S+`$/,
    );
    const empty = await paxos(dir, 'replay', dir);
    assert.equal(empty.exitCode, 1);
    assert.match(empty.stderr.trim(), /holds no input logs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
