import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { Ballot } from '../../src/core/ballot.js';
import { Dashboard, type DashboardActions } from '../../src/ui/dashboard.js';
import { seedChosen, type DashboardState } from '../../src/ui/model.js';
import { basicStream, fold, multiStream, normalise, status, stripAnsi } from './fixtures.js';

const ARROW_UP = '\x1b[A';
const ARROW_DOWN = '\x1b[B';
const ENTER = '\r';
const ESC = '\x1b';

interface Calls {
  readonly log: string[];
}

function recordingActions(calls: Calls, fail?: string): DashboardActions {
  const record = (name: string) => async (arg?: number | string): Promise<void> => {
    calls.log.push(arg === undefined ? name : `${name}(${arg})`);
    if (fail !== undefined) throw new Error(fail);
  };
  return {
    kill: record('kill'), restart: record('restart'), propose: record('propose'), isolate: record('isolate'), heal: record('heal'), quit: record('quit'),
    tick: record('tick'), deliverAll: record('deliverAll'), dropAll: record('dropAll'),
    release: async (op, id) => { await record(op)(id); }, tickNode: record('tickNode'),
  };
}

function show(opts: { state?: DashboardState; columns?: number; rows?: number; color?: boolean; fail?: string } = {}) {
  const calls: Calls = { log: [] };
  const state = opts.state ?? fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const ui = render(<Dashboard state={state} actions={recordingActions(calls, opts.fail)} columns={opts.columns ?? 80} rows={opts.rows ?? 24} color={opts.color ?? false} />);
  const frame = () => stripAnsi(ui.lastFrame() ?? '');
  return { ui, calls, frame };
}

/** Lets Ink's input parser, React and the action promises settle; bounded, and never a timing assertion. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function press(ui: ReturnType<typeof render>, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    ui.stdin.write(k);
    await settle();
  }
}

function rowOf(frame: string, node: string): string {
  // The leader's name carries a `*`, so a name is followed by an optional star and then a space.
  const line = frame.split('\n').find((l) => new RegExp(`^. ${node}\\*? `).test(l));
  assert.ok(line, `no table row for ${node} in\n${frame}`);
  return line;
}

const basicState = () => fold(basicStream(), { clusterSize: 3, protocol: 'basic' });

test('header shows cluster size, protocol, leader and its ballot', () => {
  const { ui, frame } = show();
  const header = frame().split('\n')[0]!;
  assert.match(normalise(header), /^paxos {2}5 replicas · multi · leader node-3 at 4\.3 · chosen 17 · N msg\/s$/);
  ui.unmount();
});

test('rows show roles, the leader mark, down and isolated', () => {
  const { ui, frame } = show();
  const f = frame();
  assert.match(rowOf(f, 'node-1'), /node-1 +up +follower +4\.3 +#17 \(4\.3, x=7\)/);
  assert.match(rowOf(f, 'node-2'), /node-2 +down +- /);
  assert.match(rowOf(f, 'node-3'), /node-3\* +up +leader +4\.3/);
  assert.match(rowOf(f, 'node-5'), /node-5 +isolated +follower/);
  ui.unmount();
});

test('a replica that only learns (joining) or was removed says so in the role column', () => {
  const state = fold([
    ...multiStream(),
    status({ node: 4, role: 'follower', leader: 3, promised: Ballot(4, 3), member: 'learner', uptimeMs: 3000 }),
    status({ node: 1, role: 'follower', leader: 3, promised: Ballot(4, 3), member: 'removed', uptimeMs: 3000 }),
  ], { clusterSize: 5, protocol: 'multi' });
  const { ui, frame } = show({ state });
  assert.match(rowOf(frame(), 'node-4'), /node-4 +up +learner /);
  assert.match(rowOf(frame(), 'node-1'), /node-1 +up +removed /);
  assert.match(rowOf(frame(), 'node-5'), /node-5 +isolated +follower/);
  ui.unmount();
});

test('chosen list shows x=7 in slot 17 at 4.3, and the flow shows the arrow line', () => {
  const { ui, frame } = show();
  const f = frame();
  assert.match(f, /#17 +x=7 +4\.3/);
  assert.match(f, /#16 +y=1 +4\.3/);
  assert.ok(f.includes('node-3 → node-1 accept #17 (4.3, x=7)'), f);
  assert.match(f, /faults: partition \{1,2,3,4\} \{5\} · delay 10-200ms · drop 5%/);
  ui.unmount();
});

test('basic per-key view shows the 000 article: A and B promised 1.3, C accepted (1.3, 7), chosen 7', () => {
  const { ui, frame } = show({ state: basicState() });
  const lines = frame().split('\n');
  const at = lines.findIndex((l) => /^key +node-1 +node-2 +node-3 +chosen$/.test(l));
  assert.ok(at >= 0, lines.join('\n'));
  assert.match(lines[at + 1]!, /^x +p 1\.3 +p 1\.3 +p 1\.3 +7$/);
  assert.match(lines[at + 2]!, /^ +a - +a - +a \(1\.3, 7\)$/);
  assert.match(lines[0]!, /basic · no leader/);
  ui.unmount();
});

test('? toggles the help overlay', async () => {
  const { ui, frame } = show();
  assert.ok(!frame().includes('help (press ? to close)'));
  await press(ui, '?');
  assert.ok(frame().includes('help (press ? to close)'), frame());
  assert.ok(frame().includes('kill the selected replica'));
  await press(ui, '?');
  assert.ok(!frame().includes('help (press ? to close)'));
  ui.unmount();
});

test('arrows move the selection, and the log pane follows it', async () => {
  const { ui, frame } = show();
  assert.match(rowOf(frame(), 'node-1'), /^›/);
  assert.ok(frame().includes('── node-1 log'));
  await press(ui, ARROW_DOWN, ARROW_DOWN);
  assert.match(rowOf(frame(), 'node-3'), /^›/);
  assert.match(rowOf(frame(), 'node-1'), /^ /);
  assert.ok(frame().includes('── node-3 log'), frame());
  assert.ok(frame().includes('became leader at 4.3'));
  await press(ui, ARROW_UP, ARROW_UP, ARROW_UP);
  assert.match(rowOf(frame(), 'node-5'), /^›/, 'up from the first row wraps to the last');
  ui.unmount();
});

test('k y kills, r y restarts, i y isolates the selected replica; h heals; outcomes are shown', async () => {
  const { ui, calls, frame } = show();
  await press(ui, ARROW_DOWN, 'k', 'y');
  assert.deepEqual(calls.log, ['kill(2)']);
  assert.ok(frame().includes('✓ node-2 killed'), frame());
  await press(ui, 'r', 'y', 'i', 'y', 'h');
  assert.deepEqual(calls.log, ['kill(2)', 'restart(2)', 'isolate(2)', 'heal']);
  assert.ok(frame().includes('✓ network healed'));
  ui.unmount();
});

test('step keys: t ticks every replica, d delivers and x drops every held message, at once (nothing to confirm)', async () => {
  const { ui, calls, frame } = show();
  await press(ui, 't', 'd', 'x');
  assert.deepEqual(calls.log, ['tick', 'deliverAll', 'dropAll']);
  assert.ok(frame().includes('✓ dropped'), frame());
  ui.unmount();
});

test('a step key on a cluster not in step mode shows the refusal in the status line', async () => {
  const { ui, frame } = show({ fail: 'the cluster is not in step mode; start it with paxos up --step' });
  await press(ui, 't');
  assert.ok(frame().includes('the cluster is not in step mode; start it with paxos up --step'), frame());
  ui.unmount();
});

test('k asks in the status line; any key but y cancels, says so, and does nothing else', async () => {
  const { ui, calls, frame } = show();
  await press(ui, ARROW_DOWN, 'k');
  assert.deepEqual(calls.log, [], 'k alone must not kill');
  assert.ok(frame().includes('kill node-2? press y to confirm, any other key cancels'), frame());
  await press(ui, 'n');
  assert.deepEqual(calls.log, []);
  assert.ok(frame().includes('kill node-2 cancelled'), frame());
  assert.ok(!frame().includes('press y to confirm'), frame());
  // A vim user's kk, and an arrow after k: each cancels and is used up, so the selection stays on node-2.
  await press(ui, 'k', 'k', 'k', ARROW_DOWN);
  assert.deepEqual(calls.log, []);
  assert.match(rowOf(frame(), 'node-2'), /^›/);
  await press(ui, 'k', 'y');
  assert.deepEqual(calls.log, ['kill(2)'], 'k then y kills once');
  assert.ok(frame().includes('✓ node-2 killed'), frame());
  await press(ui, 'y');
  assert.deepEqual(calls.log, ['kill(2)'], 'a y with no question pending does nothing');
  ui.unmount();
});

test('r and i ask too, naming the replica selected when the key was pressed', async () => {
  const { ui, calls, frame } = show();
  await press(ui, 'r');
  assert.ok(frame().includes('restart node-1? press y to confirm, any other key cancels'), frame());
  await press(ui, ESC);
  assert.ok(frame().includes('restart node-1 cancelled'), frame());
  await press(ui, ARROW_DOWN, ARROW_DOWN, 'i');
  assert.ok(frame().includes('isolate node-3? press y to confirm, any other key cancels'), frame());
  await press(ui, 'Y');
  assert.deepEqual(calls.log, [], 'only a lower-case y confirms');
  await press(ui, 'i', 'y');
  assert.deepEqual(calls.log, ['isolate(3)']);
  ui.unmount();
});

test('the help overlay and the hint line say that k, r and i wait for y', async () => {
  const { ui, frame } = show();
  assert.ok(frame().includes('↑↓ select  ky kill  ry restart  iy isolate  p propose  h heal  ? help  q quit'), frame());
  await press(ui, '?');
  assert.match(frame(), /k y +kill the selected replica \(SIGKILL, for real\); k asks, y confirms/);
  assert.match(frame(), /r y +restart the selected replica/);
  assert.match(frame(), /i y +isolate the selected replica/);
  ui.unmount();
});

test('an action that fails shows its error sentence', async () => {
  const { ui, frame } = show({ fail: 'no cluster is running' });
  await press(ui, 'k', 'y');
  assert.ok(frame().includes('✗ no cluster is running'), frame());
  ui.unmount();
});

test('p opens the propose input; typing x=7 and Enter proposes it; Esc cancels', async () => {
  const { ui, calls, frame } = show();
  await press(ui, 'p');
  assert.ok(frame().includes('propose›'), frame());
  // Keys typed into the prompt are text, not commands: this k must not kill anything.
  await press(ui, 'k', '\x7f', 'x', '=', '7');
  assert.ok(frame().includes('propose› x=7'), frame());
  await press(ui, ENTER);
  assert.deepEqual(calls.log, ['propose(x=7)']);
  assert.ok(!frame().includes('propose›'));
  assert.ok(frame().includes('✓ x=7 proposed'), frame());
  await press(ui, 'p', 'y', ESC);
  assert.ok(!frame().includes('propose›'), frame());
  assert.deepEqual(calls.log, ['propose(x=7)']);
  ui.unmount();
});

test('keys typed faster than the screen re-renders are not lost (typing, pasting)', async () => {
  const { ui, calls } = show();
  for (const k of ['\x1b[B', 'p', 'x', '=', '4', '2', '\r', 'k', 'y']) ui.stdin.write(k);
  await settle();
  assert.deepEqual(calls.log, ['propose(x=42)', 'kill(2)']);
  ui.unmount();
});

test('q calls quit', async () => {
  const { ui, calls } = show();
  await press(ui, 'q');
  assert.deepEqual(calls.log, ['quit']);
  ui.unmount();
});

function assertFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  assert.ok(lines.length <= rows, `${lines.length} lines in a ${rows}-row frame:\n${frame}`);
  for (const line of lines) assert.ok([...line].length <= columns, `line longer than ${columns}: ${line}`);
}

test('at 80x24 everything fits: at most 24 lines, none longer than 80 columns', async () => {
  const long = fold([...multiStream(), { type: 'chosen', node: 3, instance: '18', value: `k=${'v'.repeat(300)}`, ballot: null, atMs: 1 },
    { type: 'log', node: 1, line: 'l'.repeat(300), atMs: 1 },
    { type: 'flow', node: 1, droppedLines: 0, lines: [{ atMs: 1, type: 'accept', text: `node-1 → node-2 accept #18 (5.1, k=${'v'.repeat(300)})` }] }],
  { clusterSize: 5, protocol: 'multi' });
  for (const state of [long, basicState()]) {
    const { ui, frame } = show({ state, color: true });
    assertFits(frame(), 80, 24);
    if (state === long) assert.equal(frame().match(/…/g)?.length, 3, `the long value, flow line and log line are each cut with …:\n${frame()}`);
    await press(ui, '?');
    assertFits(frame(), 80, 24);
    await press(ui, '?', 'p', ...'x=123456789'.repeat(12).split(''));
    assertFits(frame(), 80, 24);
    ui.unmount();
  }
});

test('a larger terminal shows more: more lines per section and wider columns', () => {
  const many = fold([...multiStream(), ...Array.from({ length: 30 }, (_, i) => (
    { type: 'chosen', node: 3, instance: String(100 + i), value: `k${i}=${i}`, ballot: null, atMs: i } as const))],
  { clusterSize: 5, protocol: 'multi' });
  const small = show({ state: many });
  const large = show({ state: many, columns: 100, rows: 40 });
  const count = (f: string) => f.split('\n').filter((l) => /^#\d+ /.test(l)).length;
  assert.ok(count(large.frame()) > count(small.frame()), `${count(large.frame())} vs ${count(small.frame())}`);
  assertFits(large.frame(), 100, 40);
  assert.ok(Math.max(...large.frame().split('\n').map((l) => [...l].length)) > 80);
  small.ui.unmount();
  large.ui.unmount();
});

test('NO_COLOR: the frame holds no ANSI codes at all; with colour on it does', () => {
  const plain = show({ color: false });
  assert.doesNotMatch(plain.ui.lastFrame() ?? '', /\x1b\[/);
  plain.ui.unmount();
  const coloured = show({ color: true });
  assert.match(coloured.ui.lastFrame() ?? '', /\x1b\[\d+m/, 'the colour check above would be vacuous if colour never showed');
  coloured.ui.unmount();
});

test('a dashboard attached late shows the chosen values it missed, with - for their unknown ballots', () => {
  const missed = [9, 8].map((slot) => ({ instance: String(slot), value: `old=${slot}`, ballot: null, atMs: 1 }));
  const state = seedChosen(fold(multiStream(), { clusterSize: 5, protocol: 'multi' }), { node: 1, entries: missed }, 2);
  const { ui, frame } = show({ state });
  const f = frame();
  assert.match(f, /#17 +x=7 +4\.3/);
  assert.match(f, /#9 +old=9 +-/);
  assert.match(f, /#8 +old=8 +-/);
  assert.ok(f.indexOf('#17 ') < f.indexOf('#9 ') && f.indexOf('#9 ') < f.indexOf('#8 '), `newest first:\n${f}`);
  ui.unmount();
});
