import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { Ballot } from '../../src/core/ballot.js';
import { Dashboard, type DashboardActions } from '../../src/ui/dashboard.js';
import type { HeldSnapshot } from '../../src/ui/held-feed.js';
import { type DashboardState, seedChosen } from '../../src/ui/model.js';
import { basicStream, fold, multiStream, normalise, status, stripAnsi } from './fixtures.js';
import { acceptsHeld } from './held.js';

const ARROW_UP = '\x1b[A';
const ARROW_DOWN = '\x1b[B';
const ENTER = '\r';
const ESC = '\x1b';

interface Calls {
  readonly log: string[];
}

function recordingActions(calls: Calls, fail?: string): DashboardActions {
  const record =
    (name: string) =>
    async (arg?: number | string): Promise<void> => {
      calls.log.push(arg === undefined ? name : `${name}(${arg})`);
      if (fail !== undefined) throw new Error(fail);
    };
  return {
    kill: record('kill'),
    restart: record('restart'),
    propose: record('propose'),
    isolate: record('isolate'),
    heal: record('heal'),
    quit: record('quit'),
    tick: record('tick'),
    deliverAll: record('deliverAll'),
    dropAll: record('dropAll'),
    release: async (op, id) => {
      await record(op)(id);
    },
    tickNode: record('tickNode'),
  };
}

function show(
  opts: {
    state?: DashboardState;
    columns?: number;
    rows?: number;
    color?: boolean;
    fail?: string;
    step?: boolean;
    held?: HeldSnapshot;
  } = {},
) {
  const calls: Calls = { log: [] };
  const state = opts.state ?? fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const ui = render(
    <Dashboard
      state={state}
      actions={recordingActions(calls, opts.fail)}
      columns={opts.columns ?? 80}
      rows={opts.rows ?? 24}
      color={opts.color ?? false}
      {...(opts.step !== undefined ? { step: opts.step } : {})}
      {...(opts.held !== undefined ? { held: opts.held } : {})}
    />,
  );
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
  const header = frame().split('\n')[0];
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
  const state = fold(
    [
      ...multiStream(),
      status({ node: 4, role: 'follower', leader: 3, promised: Ballot(4, 3), member: 'learner', uptimeMs: 3000 }),
      status({ node: 1, role: 'follower', leader: 3, promised: Ballot(4, 3), member: 'removed', uptimeMs: 3000 }),
    ],
    { clusterSize: 5, protocol: 'multi' },
  );
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
  assert.match(lines[at + 1], /^x +p 1\.3 +p 1\.3 +p 1\.3 +7$/);
  assert.match(lines[at + 2], /^ +a - +a - +a \(1\.3, 7\)$/);
  assert.match(lines[0], /basic · no leader/);
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

const HELD: HeldSnapshot = { messages: acceptsHeld(), total: 3, error: null };
const BACKSPACE = '\x7f';

/** The held message that carries the cursor, from its id on; in Multi mode the held list is beside the chosen list. */
function cursorLine(frame: string): string {
  const lines = frame
    .split('\n')
    .map((l) => /› (\d+:\d+ .*)$/.exec(l)?.[1])
    .filter((l) => l !== undefined);
  assert.equal(lines.length, 1, `not exactly one held message has the cursor in\n${frame}`);
  return lines[0];
}

test('in step mode the held messages replace the message flow, the first one selected', () => {
  const { ui, frame } = show({ step: true, held: HELD });
  const f = frame();
  assert.ok(f.includes('── held (3)'), f);
  assert.ok(!f.includes('── messages'), `the flow is gone in step mode:\n${f}`);
  assert.match(f, /› 1:3 +node-1 → node-2 +accept +1\.1 +#1 +x=7/);
  assert.match(f, / {2}2:1 +node-2 → node-1 +promise +1\.1/);
  assert.match(cursorLine(f), /^1:3 /);
  ui.unmount();
  const normal = show({ held: HELD });
  assert.ok(normal.frame().includes('── messages'), 'outside step mode the flow stays');
  assert.ok(!normal.frame().includes('── held'));
  normal.ui.unmount();
});

test("basic mode in step mode: the held list takes the flow's place beside the log", () => {
  const { ui, frame } = show({ state: basicState(), step: true, held: HELD });
  assert.ok(frame().includes('── held (3)'), frame());
  assert.ok(frame().includes('1:3'), frame());
  ui.unmount();
});

test('] and [ move the held-message cursor, stopping at either end; the arrows still select replicas', async () => {
  const { ui, frame, calls } = show({ step: true, held: HELD });
  await press(ui, ']');
  assert.match(cursorLine(frame()), /^1:4 /);
  await press(ui, ']', ']', ']');
  assert.match(cursorLine(frame()), /^2:1 /, 'stops at the last');
  await press(ui, '[');
  assert.match(cursorLine(frame()), /^1:4 /);
  await press(ui, '[', '[', '[');
  assert.match(cursorLine(frame()), /^1:3 /, 'stops at the first');
  await press(ui, ARROW_DOWN);
  assert.match(rowOf(frame(), 'node-2'), /^›/);
  assert.match(cursorLine(frame()), /^1:3 /, 'selecting a replica leaves the held cursor alone');
  assert.deepEqual(calls.log, []);
  ui.unmount();
});

test('a held-down ] arriving as one chunk moves the cursor once per ]', async () => {
  const { ui, frame, calls } = show({ step: true, held: HELD });
  await press(ui, ']]');
  assert.match(cursorLine(frame()), /^2:1 /);
  await press(ui, '[[');
  assert.match(cursorLine(frame()), /^1:3 /);
  assert.deepEqual(calls.log, []);
  ui.unmount();
});

test('Enter delivers the selected message, out of order: the action gets its id, and the status line names it', async () => {
  const { ui, frame, calls } = show({ step: true, held: HELD });
  await press(ui, ']', ']', ENTER);
  assert.deepEqual(calls.log, ['deliver(2:1)']);
  assert.ok(frame().includes('✓ delivered 2:1'), frame());
  await press(ui, '[', ' ');
  assert.deepEqual(calls.log, ['deliver(2:1)', 'deliver(1:4)'], 'space delivers too');
  ui.unmount();
});

test('u duplicates the selected message; - and Backspace drop it', async () => {
  const { ui, frame, calls } = show({ step: true, held: HELD });
  await press(ui, 'u');
  assert.deepEqual(calls.log, ['duplicate(1:3)']);
  assert.ok(frame().includes('✓ duplicated 1:3'), frame());
  await press(ui, ']', '-');
  assert.deepEqual(calls.log, ['duplicate(1:3)', 'drop(1:4)']);
  assert.ok(frame().includes('✓ dropped 1:4'), frame());
  await press(ui, BACKSPACE);
  assert.deepEqual(calls.log, ['duplicate(1:3)', 'drop(1:4)', 'drop(1:4)']);
  ui.unmount();
});

test('the status line shows the sentence the action answers with', async () => {
  const line = 'delivered 1:3 (node-1 → node-2 accept #1 (1.1, x=7))';
  const ui = render(
    <Dashboard
      state={fold(multiStream(), { clusterSize: 5, protocol: 'multi' })}
      columns={80}
      rows={24}
      color={false}
      step
      held={HELD}
      actions={{ ...recordingActions({ log: [] }), release: async () => line }}
    />,
  );
  await press(ui, ENTER);
  assert.ok(stripAnsi(ui.lastFrame() ?? '').includes(`✓ ${line}`), ui.lastFrame());
  ui.unmount();
});

test('when the delivered message leaves the list, the cursor is on the one after it', async () => {
  const calls: Calls = { log: [] };
  const state = fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const at = (held: HeldSnapshot) => (
    <Dashboard state={state} actions={recordingActions(calls)} columns={80} rows={24} color={false} step held={held} />
  );
  const ui = render(at(HELD));
  await press(ui, ']', ENTER);
  assert.deepEqual(calls.log, ['deliver(1:4)']);
  ui.rerender(at({ ...HELD, messages: HELD.messages.filter((m) => m.id !== '1:4'), total: 2 }));
  await settle();
  assert.match(cursorLine(stripAnsi(ui.lastFrame() ?? '')), /^2:1 /);
  await press(ui, ENTER);
  assert.deepEqual(calls.log, ['deliver(1:4)', 'deliver(2:1)']);
  ui.unmount();
});

test('the cursor follows its message when a newly held one is listed before it', async () => {
  const calls: Calls = { log: [] };
  const state = fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const at = (held: HeldSnapshot) => (
    <Dashboard state={state} actions={recordingActions(calls)} columns={80} rows={24} color={false} step held={held} />
  );
  const ui = render(at(HELD));
  await press(ui, ']', ']');
  assert.match(cursorLine(stripAnsi(ui.lastFrame() ?? '')), /^2:1 /);
  // node-1 held one more message; lists go by holder, so it comes before node-2's.
  const fresh = { ...HELD.messages[1], id: '1:5' };
  ui.rerender(at({ messages: [...HELD.messages.slice(0, 2), fresh, HELD.messages[2]], total: 4, error: null }));
  await settle();
  assert.match(cursorLine(stripAnsi(ui.lastFrame() ?? '')), /^2:1 /);
  await press(ui, ENTER);
  assert.deepEqual(calls.log, ['deliver(2:1)']);
  ui.unmount();
});

test('T ticks the selected replica once; t, d and x still act on every replica and message', async () => {
  const { ui, frame, calls } = show({ step: true, held: HELD });
  await press(ui, ARROW_DOWN, ARROW_DOWN, 'T');
  assert.deepEqual(calls.log, ['tickNode(3)']);
  assert.ok(frame().includes('✓ node-3 ticked once'), frame());
  await press(ui, 't', 'd', 'x');
  assert.deepEqual(calls.log, ['tickNode(3)', 'tick', 'deliverAll', 'dropAll']);
  ui.unmount();
});

test('with nothing held, Enter says so and asks the cluster nothing', async () => {
  const { ui, frame, calls } = show({ step: true, held: { messages: [], total: 0, error: null } });
  assert.ok(frame().includes('nothing is held'), frame());
  await press(ui, ENTER, 'u', '-', ']');
  assert.deepEqual(calls.log, []);
  assert.ok(frame().includes('nothing is held, so nothing was dropped'), frame());
  ui.unmount();
});

test('outside step mode the held-message keys and T are refused in the status line, and nothing is called', async () => {
  const { ui, frame, calls } = show({ held: HELD });
  for (const k of ['[', ']', ENTER, ' ', 'u', '-', BACKSPACE, 'T']) {
    await press(ui, k);
    assert.ok(
      frame().includes('✗ the cluster is not in step mode; start it with paxos up --step'),
      `${JSON.stringify(k)}:\n${frame()}`,
    );
    await press(ui, 'h');
  }
  assert.deepEqual(calls.log, Array(8).fill('heal'));
  ui.unmount();
});

test('in step mode the hint line and the help overlay list the step keys', async () => {
  const { ui, frame } = show({ step: true, held: HELD });
  assert.ok(frame().includes('[ ] pick  ⏎ deliver  u dup  - drop  T tick node  t tick all  d/x all  ? help'), frame());
  await press(ui, '?');
  const f = frame();
  assert.match(f, /\[ \] +move the cursor through the held messages/);
  assert.match(f, /⏎ space +deliver the selected message/);
  assert.match(f, /u +duplicate the selected message/);
  assert.match(f, /- ⌫ +drop the selected message/);
  assert.match(f, /T +tick the selected replica once/);
  ui.unmount();
});

test('step mode under NO_COLOR: no ANSI codes, and the cursor is the › marker', () => {
  const { ui } = show({ step: true, held: HELD, color: false });
  const raw = ui.lastFrame() ?? '';
  assert.doesNotMatch(raw, /\x1b\[/);
  assert.match(raw, /4\.3 +› 1:3 +node-1 → node-2/);
  ui.unmount();
});

test('step mode at 80x24 fits, with a long held value cut and many messages windowed', async () => {
  const long = { ...HELD.messages[0], id: '1:9', value: 'v'.repeat(300) };
  const many = Array.from({ length: 40 }, (_, i) => ({ ...HELD.messages[1], id: `1:${i + 10}` }));
  for (const state of [fold(multiStream(), { clusterSize: 5, protocol: 'multi' }), basicState()]) {
    const { ui, frame } = show({
      state,
      step: true,
      held: { messages: [long, ...many], total: 41, error: null },
      color: true,
    });
    assertFits(frame(), 80, 24);
    assert.match(frame(), /\+\d+ more \(\d+ below\)/, frame());
    await press(ui, '?');
    assertFits(frame(), 80, 24);
    ui.unmount();
  }
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
  const long = fold(
    [
      ...multiStream(),
      { type: 'chosen', node: 3, instance: '18', value: `k=${'v'.repeat(300)}`, ballot: null, atMs: 1 },
      { type: 'log', node: 1, line: 'l'.repeat(300), atMs: 1 },
      {
        type: 'flow',
        node: 1,
        droppedLines: 0,
        lines: [{ atMs: 1, type: 'accept', text: `node-1 → node-2 accept #18 (5.1, k=${'v'.repeat(300)})` }],
      },
    ],
    { clusterSize: 5, protocol: 'multi' },
  );
  for (const state of [long, basicState()]) {
    const { ui, frame } = show({ state, color: true });
    assertFits(frame(), 80, 24);
    if (state === long)
      assert.equal(
        frame().match(/…/g)?.length,
        3,
        `the long value, flow line and log line are each cut with …:\n${frame()}`,
      );
    await press(ui, '?');
    assertFits(frame(), 80, 24);
    await press(ui, '?', 'p', ...'x=123456789'.repeat(12).split(''));
    assertFits(frame(), 80, 24);
    ui.unmount();
  }
});

test('a larger terminal shows more: more lines per section and wider columns', () => {
  const many = fold(
    [
      ...multiStream(),
      ...Array.from(
        { length: 30 },
        (_, i) =>
          ({ type: 'chosen', node: 3, instance: String(100 + i), value: `k${i}=${i}`, ballot: null, atMs: i }) as const,
      ),
    ],
    { clusterSize: 5, protocol: 'multi' },
  );
  const small = show({ state: many });
  const large = show({ state: many, columns: 100, rows: 40 });
  const count = (f: string) => f.split('\n').filter((l) => /^#\d+ /.test(l)).length;
  assert.ok(count(large.frame()) > count(small.frame()), `${count(large.frame())} vs ${count(small.frame())}`);
  assertFits(large.frame(), 100, 40);
  assert.ok(
    Math.max(
      ...large
        .frame()
        .split('\n')
        .map((l) => [...l].length),
    ) > 80,
  );
  small.ui.unmount();
  large.ui.unmount();
});

test('NO_COLOR: the frame holds no ANSI codes at all; with colour on it does', () => {
  const plain = show({ color: false });
  assert.doesNotMatch(plain.ui.lastFrame() ?? '', /\x1b\[/);
  plain.ui.unmount();
  const coloured = show({ color: true });
  assert.match(
    coloured.ui.lastFrame() ?? '',
    /\x1b\[\d+m/,
    'the colour check above would be vacuous if colour never showed',
  );
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
