/**
 * `paxos explore`: the state hash merges one state reached by two paths and
 * tells different states apart; a bounded search of each protocol finishes
 * in seconds without a violation; a planted bug is found, and the scenario
 * written for it passes under the scenario runner (in process, as
 * `paxos scenario run --sim` runs it) and still shows the violation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reproduces } from '../../src/cli/services/explore.js';
import { firstViolation, scenarioText, shrink } from '../../src/explore/counterexample.js';
import { canonical } from '../../src/explore/encode.js';
import { commandsOf, runInteractive } from '../../src/explore/interactive.js';
import { stuckAfterFaults } from '../../src/explore/liveness.js';
import { search } from '../../src/explore/search.js';
import { type ExploreSettings, ExploreWorld } from '../../src/explore/world.js';
import { parseScenario } from '../../src/scenario/script.js';

const basic: ExploreSettings = { protocol: 'basic', nodes: 3, proposals: 2, faults: [], crashes: 1, setup: [] };
const multi: ExploreSettings = { ...basic, protocol: 'multi' };
const now = () => performance.now();

const planted: ExploreSettings = { ...basic, setup: ['option plant accept-below-promise'] };
let plantedSearch: ReturnType<typeof search> | null = null;
/** One search for the planted bug, shared by the tests that read its counterexample. */
function searchPlanted(): ReturnType<typeof search> {
  plantedSearch ??= search({ settings: planted, bounds: { depth: 8, maxStates: 200_000, timeMs: 300_000 }, now });
  return plantedSearch;
}

test('canonical text ignores the order maps, sets and objects were filled in', () => {
  const a = {
    m: new Map([
      ['x', 1],
      ['y', 2],
    ]),
    s: new Set([3, 1]),
    o: { b: 1, a: [1, 2] },
  };
  const b = {
    o: { a: [1, 2], b: 1 },
    s: new Set([1, 3]),
    m: new Map([
      ['y', 2],
      ['x', 1],
    ]),
  };
  assert.equal(canonical(a), canonical(b));
  assert.notEqual(canonical(a), canonical({ ...b, o: { a: [2, 1], b: 1 } }), 'array order is data');
});

test('one state reached by two paths has one hash; a different state has another', () => {
  const start = ['propose 1 x=1'];
  const one = ExploreWorld.replay(basic, [...start, 'deliver 1 2 prepare', 'deliver 1 3 prepare']);
  const two = ExploreWorld.replay(basic, [...start, 'deliver 1 3 prepare', 'deliver 1 2 prepare']);
  assert.equal(one.hash(), two.hash());
  const other = ExploreWorld.replay(basic, [...start, 'deliver 1 2 prepare', 'drop 1 3 prepare']);
  assert.notEqual(one.hash(), other.hash());
  // The same messages in flight, sent in another order by two proposers: the multiset is what counts.
  const p = ExploreWorld.replay(basic, ['propose 1 x=1', 'propose 2 x=2']);
  const q = ExploreWorld.replay(basic, ['propose 2 x=2', 'propose 1 x=1']);
  assert.notEqual(p.hash(), ExploreWorld.replay(basic, ['propose 1 x=1']).hash());
  // Ballots are numbered by what each proposer saw, so both orders reach the same state here.
  assert.equal(p.hash(), q.hash());
});

test('a bounded search of Basic Paxos, 3 replicas, 2 proposals finds no violation', () => {
  const r = search({ settings: basic, bounds: { depth: 4, maxStates: 100_000, timeMs: 120_000 }, now });
  assert.equal(r.counterexample, null);
  assert.equal(r.limit, 'depth');
  assert.equal(r.depthCompleted, 4);
  assert.ok(r.distinct > 1 && r.distinct <= r.explored + 1, `${r.distinct} distinct of ${r.explored}`);
});

test('a bounded search of Multi-Paxos, 3 replicas, 2 proposals, a crash finds no violation', () => {
  const r = search({
    settings: { ...multi, faults: ['crash'] },
    bounds: { depth: 3, maxStates: 100_000, timeMs: 120_000 },
    now,
  });
  assert.equal(r.counterexample, null);
  assert.equal(r.depthCompleted, 3);
  assert.ok(r.distinct > 1);
});

test('a planted bug is found; its scenario passes under the scenario runner and still shows the violation', () => {
  const settings = planted;
  const r = searchPlanted();
  assert.ok(r.counterexample !== null, 'accept-below-promise not found within depth 8');
  assert.match(r.counterexample.violation, /accepted x at ballot .* after promising/);
  const ce = shrink(settings, {
    commands: r.counterexample.steps.map((s) => s.command),
    violation: r.counterexample.violation,
  });
  assert.ok(ce.commands.length <= r.counterexample.steps.length);
  const text = scenarioText(settings, ce, { foundBy: 'the explore test' });
  assert.match(text, /option plant accept-below-promise/);
  assert.match(text, /# VIOLATION at this step: acceptor node-\d accepted x/);
  const run = reproduces(text);
  assert.ok(run.ok, run.firstDifference);
  // The file's commands, replayed with the checkers on, break the same rule at the same last step.
  const commands = parseScenario(text)
    .steps.flatMap((s) => (s.kind === 'command' ? [s.command] : []))
    .slice(settings.setup.length + 1);
  const again = firstViolation(settings, commands);
  assert.equal(again?.violation, ce.violation);
  assert.equal(again?.commands.length, commands.length);
});

test('without the plant, the same schedule breaks nothing', () => {
  const r = searchPlanted();
  assert.ok(r.counterexample !== null);
  // Replayed without the plant (it throws if a step no longer applies, which would fail the test too).
  const world = ExploreWorld.replay(
    basic,
    r.counterexample.steps.map((s) => s.command),
  );
  assert.equal(world.violation, null);
});

async function* linesOf(...lines: string[]): AsyncIterable<string> {
  yield* lines;
}

test('--interactive: numbered actions read from a pipe; a planted bug shows at the step that breaks it', async () => {
  const out: string[] = [];
  const settings: ExploreSettings = { ...basic, setup: ['option plant quorum-minus-one'] };
  const found = await runInteractive({ settings, start: [], lines: linesOf('9', '4', 'q'), out: (l) => out.push(l) });
  const text = out.join('\n');
  assert.match(text, /^ {3}4\. client request #1$/m);
  assert.match(text, /choose 1 to 5, b \(back\)/, 'a number out of range is refused with the choices');
  assert.match(text, /^> propose 1 x=1$/m);
  assert.match(text, /VIOLATION: node-1 started phase 2 at 1\.1 with promises from 1 of 3 nodes/);
  assert.equal(found, 1);
});

test('--interactive --from: a counterexample file is the starting state, and back undoes a step', async () => {
  const r = searchPlanted();
  assert.ok(r.counterexample !== null);
  const commands = r.counterexample.steps.map((s) => s.command);
  const text = scenarioText(planted, { commands, violation: r.counterexample.violation }, { foundBy: 'test' });
  const start = commandsOf(planted, text);
  assert.deepEqual(start, commands);
  const out: string[] = [];
  await runInteractive({ settings: planted, start, lines: linesOf('b'), out: (l) => out.push(l) });
  assert.match(out.join('\n'), new RegExp(`state after ${commands.length} steps`));
  assert.match(out.join('\n'), new RegExp(`state after ${commands.length - 1} steps`));
});

test('nothing stuck: after a crash, a fair schedule decides a new request; cut short, it reports what is missing', () => {
  const path = ['propose 1 x=1', 'deliver 1 2 prepare', 'crash 1'];
  const settings: ExploreSettings = { ...basic, faults: ['crash'] };
  assert.equal(stuckAfterFaults(ExploreWorld.replay(settings, path)), null);
  const cut = stuckAfterFaults(ExploreWorld.replay(settings, path), 3);
  assert.match(
    cut ?? '',
    /^nothing stuck: after every replica restarted, 3 fair deliveries and ticks left a new request/,
  );
  const r = search({
    settings,
    bounds: { depth: 3, maxStates: 100_000, timeMs: 120_000, liveness: true },
    now,
  });
  assert.equal(r.counterexample, null);
});

test('the scenario verb duplicate delivers a copy and leaves the message in flight', () => {
  const world = ExploreWorld.replay({ ...basic, faults: ['duplicate'] }, ['propose 1 x=1']);
  const step = world.run('duplicate 1 2 prepare');
  assert.match(step.trace, /^duplicated node-1 → node-2 prepare x \(1\.1\)\nnode-2 → node-1 promise x \(1\.1\)$/);
  const inFlight = world.cluster.inspect().pool.filter((m) => m.from === 1 && m.to === 2);
  assert.equal(inFlight.length, 1, 'the original is still in flight');
  // Delivering the original too: node-2 answers the same prepare again, and nothing is broken.
  world.run('deliver 1 2 prepare');
  assert.equal(world.violation, null);
  assert.ok(world.enabled().some((t) => t.kind === 'duplicate'));
});
