/**
 * A dashboard that never lies (issue 26): it says when the cluster stopped,
 * shows the faults in force when it attaches, leaves removed replicas out,
 * loses no key typed in a burst, fits small and large terminals, keeps the
 * Basic duel visible among idle catch-ups, and says what a propose chose.
 */
import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { initialEvents, proposeAction, removedIds, watchClusterGone } from '../../src/cli/services/dashboard.js';
import type { ClusterStatus } from '../../src/cluster/orchestrator.js';
import { Ballot } from '../../src/core/ballot.js';
import { Dashboard, type DashboardActions } from '../../src/ui/dashboard.js';
import { applyEvent, type DashboardState, initialDashboard, markRemoved, markStopped } from '../../src/ui/model.js';
import { tableColumns } from '../../src/ui/replica-table.js';
import { basicStream, fold, multiStream, status, stripAnsi } from './fixtures.js';

function recording(log: string[], answers: Partial<Record<'propose', string>> = {}): DashboardActions {
  const record =
    (name: string) =>
    async (arg?: number | string): Promise<string | void> => {
      log.push(arg === undefined ? name : `${name}(${arg})`);
      return (answers as Record<string, string | undefined>)[name];
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
  state: DashboardState,
  o: { columns?: number; rows?: number; quitStopsCluster?: boolean; answers?: Partial<Record<'propose', string>> } = {},
) {
  const log: string[] = [];
  const ui = render(
    <Dashboard
      state={state}
      actions={recording(log, o.answers)}
      columns={o.columns ?? 80}
      rows={o.rows ?? 23}
      color={false}
      {...(o.quitStopsCluster !== undefined ? { quitStopsCluster: o.quitStopsCluster } : {})}
    />,
  );
  return { ui, log, frame: () => stripAnsi(ui.lastFrame() ?? '') };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const multi = () => fold(multiStream(), { clusterSize: 5, protocol: 'multi' });

// ---------------------------------------------------------------- 1. the cluster stopped

test('once the cluster stopped, the dashboard says so in place of the faults line', () => {
  const { ui, frame } = show(markStopped(multi(), 'paxos down was run, or its orchestrator exited'));
  assert.match(frame(), /^cluster stopped: paxos down was run, or its orchestrator exited · q quits/m);
  assert.doesNotMatch(frame(), /faults:/);
  ui.unmount();
});

test('paxos ui notices a closed connection and reports it once; a slow answer is not a stop', async () => {
  const gone: string[] = [];
  let answer: () => Promise<unknown> = () => Promise.reject(new Error('timed out after 5000 ms'));
  const stop = watchClusterGone({
    poll: () => answer(),
    alive: () => true,
    onGone: (r) => gone.push(r),
    intervalMs: 5,
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(gone, []);
  answer = () => Promise.reject(new Error('the connection is closed'));
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(gone.length, 1);
  assert.match(gone[0]!, /closed the connection \(the connection is closed\): paxos down was run/);
  stop();
  const dead: string[] = [];
  const stop2 = watchClusterGone({
    poll: () => Promise.reject(new Error('timed out')),
    alive: () => false,
    onGone: (r) => dead.push(r),
    intervalMs: 5,
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(dead, ['paxos down was run, or its orchestrator exited']);
  stop2();
});

test('in paxos up, the hint line and the help say that q stops the cluster', async () => {
  const { ui, frame } = show(multi(), { quitStopsCluster: true });
  assert.match(frame(), /q stop cluster$/m);
  ui.stdin.write('?');
  await settle();
  assert.match(frame(), /stop the cluster and quit/);
  ui.unmount();
  const attached = show(multi());
  assert.match(attached.frame(), /q quit/);
  attached.ui.unmount();
});

// ---------------------------------------------------------------- 2. faults in force when attaching

function clusterStatus(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    protocol: 'multi',
    clusterSize: 3,
    orchestratorPid: 1,
    faults: {},
    replicas: [1, 2, 3].map((id) => ({ id, port: 7000 + id, pid: 100 + id, up: true, isolated: false, status: null })),
    ...over,
  };
}

test('a dashboard attached after paxos partition node-1 shows the partition and node-1 isolated', () => {
  const s = clusterStatus({ faults: { partition: [[1], [2, 3]] } });
  const state = initialEvents(s, 1, true).reduce(applyEvent, initialDashboard({ clusterSize: 3, protocol: 'multi' }));
  const { ui, frame } = show(state);
  assert.match(frame(), /faults: partition \{1\} \{2,3\}/);
  assert.match(frame(), /node-1 +isolated/);
  assert.match(frame(), /node-2 +up/);
  ui.unmount();
});

test('a delay or a drop rate in force is shown on attach too; none is faults: none', () => {
  const shown = (s: ClusterStatus) => {
    const state = initialEvents(s, 1, true).reduce(applyEvent, initialDashboard({ clusterSize: 3, protocol: 'multi' }));
    const r = show(state);
    const f = r.frame();
    r.ui.unmount();
    return f;
  };
  assert.match(
    shown(clusterStatus({ faults: { delayMs: { min: 5, max: 50 }, dropRate: 0.1 } })),
    /faults: delay 5-50ms · drop 10%/,
  );
  assert.match(shown(clusterStatus()), /faults: none/);
});

// ---------------------------------------------------------------- 3. remove and replace

test('after remove and replace: no ? rows, the header counts the configuration, the selection starts on a live member', () => {
  // Seven ids spent, node-1 and node-2 removed (replaced by node-6 and node-7): status lists five replicas.
  const s = clusterStatus({
    clusterSize: 5,
    members: [1, 2, 3, 4, 5, 6, 7].map((id) => ({ id, state: id <= 2 ? ('removed' as const) : ('voter' as const) })),
    replicas: [3, 4, 5, 6, 7].map((id) => ({
      id,
      port: 7000 + id,
      pid: 100 + id,
      up: true,
      isolated: false,
      status: null,
    })),
  });
  assert.deepEqual(removedIds(s), [1, 2]);
  const state = initialEvents(s, 1, true).reduce(
    applyEvent,
    markRemoved(initialDashboard({ clusterSize: 7, protocol: 'multi' }), removedIds(s)),
  );
  const { ui, frame } = show(state);
  const f = frame();
  assert.match(f, /5 replicas/);
  assert.doesNotMatch(f, /^. node-[12] /m);
  assert.doesNotMatch(f, /^. node-\d+ +\? /m);
  assert.match(f, /› node-3/);
  ui.unmount();
});

test('an id missing from the status is a removed one even without the manifest', () => {
  const s = clusterStatus({
    replicas: [2, 3].map((id) => ({ id, port: 7000 + id, pid: 100 + id, up: true, isolated: false, status: null })),
  });
  assert.deepEqual(removedIds(s), [1]);
  const gap = clusterStatus({
    clusterSize: 3,
    replicas: [1, 3, 4].map((id) => ({ id, port: 7000 + id, pid: 100 + id, up: true, isolated: false, status: null })),
  });
  assert.deepEqual(removedIds(gap), [2]);
});

test('a replica removed while watched and then stopped leaves the table; the arrows skip it', async () => {
  const epoch1 = { epoch: 1, voters: [2, 3, 4, 5], startSlot: 20 };
  const events = [
    ...multiStream(),
    status({ node: 3, role: 'leader', leader: 3, promised: Ballot(4, 3), uptimeMs: 3000 }),
  ];
  let state = fold(events, { clusterSize: 5, protocol: 'multi' });
  state = { ...state, membership: epoch1 };
  state = applyEvent(state, { type: 'replica-down', node: 1, reason: 'removed', atMs: 2 });
  const { ui, frame, log } = show(state);
  assert.doesNotMatch(frame(), /^. node-1 /m);
  assert.match(frame(), /4 replicas/);
  assert.match(frame(), /› node-3/, 'the selection starts on the first member that is up');
  ui.stdin.write('\x1b[A');
  await settle();
  assert.match(frame(), /› node-2/);
  ui.stdin.write('\x1b[A');
  await settle();
  assert.match(frame(), /› node-5/, 'up from the first shown row wraps to the last, past the removed one');
  ui.stdin.write('ky');
  await settle();
  assert.deepEqual(log, ['kill(5)']);
  ui.unmount();
});

// ---------------------------------------------------------------- 4. bursts

test('keys arriving in one chunk are each acted on: iy isolates, px=1⏎ proposes', async () => {
  const { ui, log, frame } = show(multi());
  ui.stdin.write('iy');
  await settle();
  ui.stdin.write('px=1\r');
  await settle();
  assert.deepEqual(log, ['isolate(1)', 'propose(x=1)']);
  assert.doesNotMatch(frame(), /propose›/);
  ui.stdin.write('pab\x7fc\r');
  await settle();
  assert.deepEqual(log.at(-1), 'propose(ac)');
  ui.unmount();
});

// ---------------------------------------------------------------- 5. layout

function assertFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  assert.ok(lines.length <= rows, `${lines.length} lines in a ${rows}-row frame:\n${frame}`);
  for (const line of lines)
    assert.ok([...line].length <= columns, `line longer than ${columns} (${[...line].length}): ${line}\n${frame}`);
}

test('at 50x12 the dashboard fits without wrapping: fewer columns, every replica name and state still there', () => {
  for (const state of [multi(), fold(basicStream(), { clusterSize: 3, protocol: 'basic' })]) {
    // render.tsx hands the dashboard one row fewer than the terminal has.
    const { ui, frame } = show(state, { columns: 50, rows: 11 });
    assertFits(frame(), 50, 11);
    const header = frame()
      .split('\n')
      .find((l) => /replica +state/.test(l));
    assert.ok(header !== undefined && !header.includes('in/out'), frame());
    ui.unmount();
  }
});

test('below the smallest size one line says the terminal is too small', () => {
  const { ui, frame } = show(multi(), { columns: 39, rows: 8 });
  assert.equal(frame(), 'terminal too small (39×9 < 40×11)');
  ui.unmount();
});

test('at 200 columns the accepted column is capped and the others share the width', () => {
  const t = tableColumns(200);
  assert.equal(t.accepted, 60);
  assert.ok((t.widths.node ?? 0) > 9);
  assert.deepEqual(tableColumns(80), {
    widths: { mark: 2, node: 9, state: 9, role: 10, promised: 9, chosen: 7, io: 12, rate: 6 },
    accepted: 16,
  });
  const { ui, frame } = show(multi(), { columns: 200, rows: 40 });
  assertFits(frame(), 200, 40);
  const header = frame()
    .split('\n')
    .find((l) => /replica +state/.test(l))!;
  const gap = header.indexOf('chosen') - header.indexOf('accepted');
  assert.ok(gap <= 61, `accepted column ${gap} wide:\n${header}`);
  ui.unmount();
});

// ---------------------------------------------------------------- 6. Basic: idle catch-ups folded

test('Basic: idle catch-up messages are counted, not listed, so the duel stays on the flow', () => {
  const duel = [
    { atMs: 1, type: 'prepare', text: 'node-1 → node-2 prepare x (1.1)' },
    { atMs: 2, type: 'promise', text: 'node-2 → node-1 promise x (1.1)' },
  ];
  const idle = Array.from({ length: 80 }, (_, i) => ({
    atMs: 3 + i,
    type: i % 2 ? 'catchup' : 'learn',
    text: i % 2 ? 'node-2 → node-3 catchup from 4' : 'node-3 → node-2 learn ',
  }));
  const state = fold(
    [
      ...basicStream(),
      { type: 'flow', node: 1, droppedLines: 0, lines: duel },
      {
        type: 'flow',
        node: 2,
        droppedLines: 0,
        lines: [...idle, { atMs: 99, type: 'learn', text: 'node-3 → node-2 learn x=7' }],
      },
    ],
    { clusterSize: 3, protocol: 'basic' },
  );
  assert.equal(state.flowFolded, 80);
  const { ui, frame } = show(state, { columns: 100, rows: 30 });
  assert.match(frame(), /80 idle catch-ups hidden/);
  assert.match(frame(), /prepare x \(1\.1\)/);
  assert.match(frame(), /promise x \(1\.1\)/);
  assert.match(frame(), /learn x=7/);
  assert.doesNotMatch(frame(), /catchup from/);
  ui.unmount();
});

// ---------------------------------------------------------------- 7. propose answers what was chosen

test('a propose from the dashboard says what was chosen, where and at which ballot', async () => {
  const propose = proposeAction(
    async () =>
      ({
        ok: true,
        op: 'propose',
        key: 'x',
        value: '1',
        slot: 42,
        ballot: Ballot(4, 3),
        roundTrips: 1,
        alreadyChosen: false,
        latencyMs: 2.5,
        node: 3,
      }) as never,
  );
  const sentence = await propose('x=1');
  assert.match(sentence, /^chosen x=1 in slot #42 at ballot 4\.3, 1 round trip, 2\.5 ms via node-3$/);
  const { ui, frame } = show(multi(), { answers: { propose: sentence } });
  ui.stdin.write('px=1\r');
  await settle();
  assert.match(frame(), /✓ chosen x=1 in slot #42 at ballot 4\.3/);
  ui.unmount();
});
