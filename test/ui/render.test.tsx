import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { ClusterEvent } from '../../src/node/events.js';
import type { DashboardActions } from '../../src/ui/dashboard.js';
import { initialDashboard, type MissedChosen } from '../../src/ui/model.js';
import { FrameStore, startDashboard } from '../../src/ui/render.js';
import { multiStream, stripAnsi } from './fixtures.js';
import { acceptsHeld } from './held.js';

const ENTER_ALT = '\x1b[?1049h';
const LEAVE_ALT = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

/** A terminal's stdout as Ink sees it: a TTY with a size, recording everything written. */
class FakeTerminal extends EventEmitter {
  isTTY = true;
  columns = 80;
  rows = 24;
  readonly writes: string[] = [];
  write(data: string | Uint8Array, cb?: () => void): boolean {
    this.writes.push(String(data));
    cb?.();
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
}

/** A raw-mode keyboard, shaped like ink-testing-library's. */
class FakeKeyboard extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  press(data: string): void {
    this.data = data;
    this.emit('readable');
  }
  read(): string | null {
    const d = this.data;
    this.data = null;
    return d;
  }
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

function harness(opts: { fps?: number; missedChosen?: () => Promise<MissedChosen> } = {}) {
  const stdout = new FakeTerminal();
  const stdin = new FakeKeyboard();
  const calls: string[] = [];
  let emit: (e: ClusterEvent) => void = () => undefined;
  let unsubscribed = 0;
  const actions: DashboardActions = {
    kill: async (id) => {
      calls.push(`kill(${id})`);
    },
    restart: async () => undefined,
    propose: async () => undefined,
    isolate: async () => undefined,
    heal: async () => undefined,
    quit: async () => {
      calls.push('quit');
    },
    tick: async () => undefined,
    deliverAll: async () => undefined,
    dropAll: async () => undefined,
    release: async () => undefined,
    tickNode: async () => undefined,
  };
  const exitListeners = process.listenerCount('exit');
  const dashboard = startDashboard({
    subscribe: (onEvent) => {
      emit = onEvent;
      return () => {
        unsubscribed++;
      };
    },
    actions,
    clusterSize: 5,
    protocol: 'multi',
    color: false,
    fps: opts.fps ?? 30,
    ...(opts.missedChosen ? { missedChosen: opts.missedChosen } : {}),
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
  });
  return {
    stdout,
    stdin,
    calls,
    dashboard,
    emit: (e: ClusterEvent) => emit(e),
    unsubscribed: () => unsubscribed,
    exitListeners,
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function assertRestored(stdout: FakeTerminal): void {
  const text = stdout.text;
  assert.ok(text.startsWith(ENTER_ALT), 'enters the alternate screen first');
  const leave = text.lastIndexOf(LEAVE_ALT);
  assert.ok(leave > 0, 'leaves the alternate screen');
  assert.ok(text.lastIndexOf(SHOW_CURSOR) > leave, 'shows the cursor again after leaving');
  assert.equal(text.split(LEAVE_ALT).length - 1, 1, 'leaves exactly once');
}

test('FrameStore folds every event but hands React one snapshot per frame', () => {
  const store = new FrameStore(initialDashboard({ clusterSize: 5, protocol: 'multi' }));
  let notified = 0;
  store.subscribe(() => notified++);
  for (let i = 0; i < 10_000; i++) {
    store.push({ type: 'flow', node: 1, droppedLines: 0, lines: [{ atMs: i, type: 'accept', text: `line ${i}` }] });
  }
  assert.equal(notified, 0, 'no render before the frame timer fires');
  assert.equal(store.getSnapshot().flow.length, 0);
  assert.equal(store.publish(), true);
  assert.equal(notified, 1);
  assert.equal(store.getSnapshot().flow[0].text, 'line 9999');
  assert.equal(store.publish(), false, 'nothing new, no frame');
  assert.equal(notified, 1);
});

test('startDashboard renders folded events, and unmount from outside restores the terminal', async () => {
  const h = harness();
  for (const e of multiStream()) h.emit(e);
  for (let i = 0; i < 5_000; i++)
    h.emit({
      type: 'flow',
      node: 1,
      droppedLines: 0,
      lines: [{ atMs: i, type: 'accept', text: `node-1 → node-2 accept #${i} (4.1, x=${i})` }],
    });
  // The frame timer publishes on its own; wait (bounded) for the frame that shows the last event.
  for (let i = 0; i < 200 && !stripAnsi(h.stdout.text).includes('accept #4999 '); i++)
    await new Promise((r) => setTimeout(r, 10));
  h.dashboard.unmount();
  await h.dashboard.waitUntilExit();
  const text = stripAnsi(h.stdout.text);
  assert.ok(text.includes('leader node-3 at 4.3'), text);
  assert.ok(text.includes('node-1 → node-2 accept #4999 (4.1, x=4999)'));
  // 5,000 events must not have meant 5,000 frames.
  assert.ok(h.stdout.writes.length < 200, `${h.stdout.writes.length} writes`);
  assertRestored(h.stdout);
  assert.equal(h.unsubscribed(), 1);
  assert.equal(process.listenerCount('exit'), h.exitListeners, 'the exit hook is removed again');
  h.dashboard.unmount();
  assert.equal(h.stdout.text.split(LEAVE_ALT).length - 1, 1, 'a second unmount is harmless');
});

test('q quits: the terminal is restored, quit is called and waitUntilExit resolves', async () => {
  const h = harness();
  await settle();
  h.stdin.press('q');
  await h.dashboard.waitUntilExit();
  await settle();
  assert.deepEqual(h.calls, ['quit']);
  assertRestored(h.stdout);
});

test('Ctrl-C ends the dashboard and restores the terminal', async () => {
  const h = harness();
  await settle();
  h.stdin.press('\x03');
  await h.dashboard.waitUntilExit();
  assertRestored(h.stdout);
  assert.equal(h.unsubscribed(), 1);
});

test('keys reach the actions through startDashboard', async () => {
  const h = harness();
  await settle();
  h.stdin.press('\x1b[B');
  await settle();
  h.stdin.press('k');
  await settle();
  assert.deepEqual(h.calls, [], 'k only asks');
  h.stdin.press('y');
  await settle();
  assert.deepEqual(h.calls, ['kill(2)']);
  h.dashboard.unmount();
  await h.dashboard.waitUntilExit();
});

test('a pipe gets no alternate-screen codes, and a stdin that is no terminal makes it watch-only, not a crash', async () => {
  const stdout = new FakeTerminal();
  stdout.isTTY = false;
  const stdin = new FakeKeyboard();
  stdin.isTTY = false;
  const dashboard = startDashboard({
    subscribe: () => () => undefined,
    clusterSize: 3,
    protocol: 'basic',
    color: false,
    actions: {
      kill: async () => undefined,
      restart: async () => undefined,
      propose: async () => undefined,
      isolate: async () => undefined,
      heal: async () => undefined,
      quit: async () => undefined,
      tick: async () => undefined,
      deliverAll: async () => undefined,
      dropAll: async () => undefined,
      release: async () => undefined,
      tickNode: async () => undefined,
    },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
  });
  await settle();
  dashboard.unmount();
  await dashboard.waitUntilExit();
  assert.ok(!stdout.text.includes(ENTER_ALT) && !stdout.text.includes(LEAVE_ALT));
  assert.ok(stripAnsi(stdout.text).includes('3 replicas · basic'), stdout.text);
});

/** Waits (bounded) for a frame containing the text; the frame timer publishes on its own. */
async function frameShowing(stdout: FakeTerminal, text: string): Promise<string> {
  for (let i = 0; i < 200 && !stripAnsi(stdout.text).includes(text); i++) await new Promise((r) => setTimeout(r, 10));
  return stripAnsi(stdout.text);
}

test('startDashboard seeds the chosen list with the values chosen before it started, under live ones', async () => {
  let answer: (m: MissedChosen) => void = () => undefined;
  const h = harness({
    missedChosen: () =>
      new Promise((resolve) => {
        answer = resolve;
      }),
  });
  for (const e of multiStream()) h.emit(e);
  // The log is read while slot 17 also arrives live: it must be listed once, with the live ballot.
  answer({
    node: 3,
    entries: [17, 15, 14].map((slot) => ({ instance: String(slot), value: `m=${slot}`, ballot: null, atMs: 0 })),
  });
  await frameShowing(h.stdout, '#14');
  h.dashboard.unmount();
  await h.dashboard.waitUntilExit();
  // Read after unmount: under CI=true Ink writes only the final frame, at unmount.
  const text = stripAnsi(h.stdout.text);
  // The terminal received every frame; the last one starts at the last header.
  const lastFrame = text.slice(text.lastIndexOf('paxos  5 replicas'));
  assert.match(lastFrame, /#17 +x=7 +4\.3/);
  assert.match(lastFrame, /#15 +m=15 +-/);
  assert.match(lastFrame, /#14 +m=14 +-/);
  assert.equal(lastFrame.split('\n').filter((l) => l.startsWith('#17 ')).length, 1, lastFrame);
});

test('startDashboard survives a history read that rejects: one line in the log pane, nothing else', async () => {
  const h = harness({
    missedChosen: async () => {
      throw new Error('connection refused');
    },
  });
  for (const e of multiStream()) h.emit(e);
  await frameShowing(h.stdout, 'could not read earlier chosen values: connection refused');
  h.dashboard.unmount();
  await h.dashboard.waitUntilExit();
  // Read after unmount: under CI=true Ink writes only the final frame, at unmount.
  const text = stripAnsi(h.stdout.text);
  assert.ok(text.includes('could not read earlier chosen values: connection refused'), text);
  assert.ok(text.includes('leader node-3 at 4.3'));
  assertRestored(h.stdout);
});

test('step mode through startDashboard: the held list is read at once, and again right after a step key', async () => {
  const stdout = new FakeTerminal();
  const stdin = new FakeKeyboard();
  let held = acceptsHeld();
  let reads = 0;
  const released: string[] = [];
  const dashboard = startDashboard({
    subscribe: () => () => undefined,
    clusterSize: 3,
    protocol: 'multi',
    color: false,
    fps: 30,
    step: true,
    // Polling a minute apart: within this test only the first read and the read after the key can show anything,
    // so the test needs no timing assumption about a loaded machine.
    heldPollMs: 60_000,
    held: async () => {
      reads++;
      return { messages: held, total: held.length };
    },
    actions: {
      kill: async () => undefined,
      restart: async () => undefined,
      propose: async () => undefined,
      isolate: async () => undefined,
      heal: async () => undefined,
      quit: async () => undefined,
      tick: async () => undefined,
      deliverAll: async () => undefined,
      dropAll: async () => undefined,
      release: async (op, id) => {
        released.push(`${op}(${id})`);
        held = held.filter((m) => m.id !== id);
      },
      tickNode: async () => undefined,
    },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let readsBeforeKey = 0;
  // A failed assertion must still take the dashboard down, or its frame timer keeps the test process alive.
  // Nothing here reads the screen while the dashboard runs: under CI=true Ink writes only the final frame.
  try {
    for (let i = 0; i < 1000 && reads === 0; i++) await sleep(5);
    assert.equal(reads, 1, 'the held list is read at once, and (polling a minute apart) only once');
    // Enter delivers the selected message once the list has reached the screen; until then there is nothing to deliver.
    for (let i = 0; i < 100 && released.length === 0; i++) {
      readsBeforeKey = reads;
      stdin.press('\r');
      await sleep(50);
    }
    assert.deepEqual(released, ['deliver(1:3)']);
    // The next poll is a minute away: only the read that follows the action can come now.
    for (let i = 0; i < 1000 && reads === readsBeforeKey; i++) await sleep(5);
    assert.ok(reads > readsBeforeKey, 'the list is read again right after the action');
    await sleep(50);
  } finally {
    dashboard.unmount();
  }
  await dashboard.waitUntilExit();
  const frame = stripAnsi(stdout.text);
  assert.ok(frame.includes('── held (2)'), frame);
  assertRestored(stdout);
});

test('step mode through startDashboard: the held list is polled while the dashboard runs and never after it is gone', async () => {
  const stdout = new FakeTerminal();
  let reads = 0;
  const dashboard = startDashboard({
    subscribe: () => () => undefined,
    clusterSize: 3,
    protocol: 'multi',
    color: false,
    fps: 30,
    step: true,
    heldPollMs: 10,
    held: async () => {
      reads++;
      return { messages: acceptsHeld(), total: 3 };
    },
    actions: {
      kill: async () => undefined,
      restart: async () => undefined,
      propose: async () => undefined,
      isolate: async () => undefined,
      heal: async () => undefined,
      quit: async () => undefined,
      tick: async () => undefined,
      deliverAll: async () => undefined,
      dropAll: async () => undefined,
      release: async () => undefined,
      tickNode: async () => undefined,
    },
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: new FakeKeyboard() as unknown as NodeJS.ReadStream,
  });
  try {
    for (let i = 0; i < 1000 && reads < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(reads >= 3, `only ${reads} reads while the dashboard ran`);
  } finally {
    dashboard.unmount();
  }
  await dashboard.waitUntilExit();
  const readsAtExit = reads;
  // Thirty poll periods: at most the read already out when the dashboard went may finish.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(reads <= readsAtExit + 1, `${reads - readsAtExit} reads after unmount`);
  assertRestored(stdout);
});
