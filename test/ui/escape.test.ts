/**
 * Text a user typed (keys, values) or a peer sent (log and flow lines) is
 * stored as it is but drawn escaped everywhere: showText itself, the message
 * and event descriptions, the dashboard, `paxos status`, the plain event lines
 * of `paxos up`, and `paxos logs`.
 */
import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { printable } from '../../src/cli/commands/logs.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { PlainEventPrinter } from '../../src/cli/format.js';
import type { ClusterStatus } from '../../src/cluster/orchestrator.js';
import { Ballot } from '../../src/core/ballot.js';
import type { BasicMessage } from '../../src/core/basic-messages.js';
import { describeCoreEvent, describeMessage } from '../../src/core/describe.js';
import type { LogValue, MultiMessage } from '../../src/core/multi/messages.js';
import type { ClusterEvent, ReplicaStatus } from '../../src/node/events.js';
import { showLine, showText } from '../../src/text/escape.js';
import { Dashboard, type DashboardActions } from '../../src/ui/dashboard.js';
import { logLineOf as describeForLog } from '../../src/ui/model.js';
import { basicStream, fold, multiStream, status, stripAnsi } from './fixtures.js';

/** The value from the bug report: clears the screen, turns text red, and forges a second line. */
const HOSTILE = '\x1b[2J\x1b[31mboom\nfake line';
/** How HOSTILE must be drawn. */
const SHOWN = '\\x1b[2J\\x1b[31mboom\\nfake line';
/** A key that also reverses the text after it (U+202E) and ends a line (U+2028). */
const HOSTILE_KEY = 'k\u202e\u2028y';
const KEY_SHOWN = 'k\\u202e\\u2028y';

/** Anything a terminal could act on: C0 (newline included), DEL, C1, bidi controls, line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function assertSafe(text: string | null, what: string): void {
  assert.ok(text !== null, `${what}: expected a line`);
  assert.doesNotMatch(text, UNSAFE, `${what} holds an unsafe character: ${JSON.stringify(text)}`);
}

test('showText: plain text, ordinary non-ASCII included, is returned unchanged', () => {
  for (const s of [
    '',
    'x=7',
    'café',
    '值',
    'naïve résumé 🚀',
    'a b\u00a0c',
    'C:\\dir\\file',
    'back\\slash',
    '50% off',
  ]) {
    assert.equal(showText(s), s);
  }
});

test('showText: newline, carriage return and tab as \\n \\r \\t; other C0 and DEL as \\xHH', () => {
  assert.equal(showText('a\nb'), 'a\\nb');
  assert.equal(showText('a\rb'), 'a\\rb');
  assert.equal(showText('a\tb'), 'a\\tb');
  assert.equal(showText('\x00\x07\x08\x0b\x0c\x1f'), '\\x00\\x07\\x08\\x0b\\x0c\\x1f');
  assert.equal(showText('\x7f'), '\\x7f');
  assert.equal(showText(HOSTILE), SHOWN);
});

test('showText: ESC is \\x1b, so no escape sequence survives', () => {
  assert.equal(showText('\x1b'), '\\x1b');
  assert.equal(showText('\x1b]0;title\x07'), '\\x1b]0;title\\x07');
});

test('showText: C1 controls as \\u0080..\\u009f (U+009B alone is a CSI on some terminals)', () => {
  assert.equal(showText('\u0080'), '\\u0080');
  assert.equal(showText('\u009b2J'), '\\u009b2J');
  assert.equal(showText('\u009f'), '\\u009f');
  // U+00A0 is the first character after C1 and prints; it stays.
  assert.equal(showText('\u00a0'), '\u00a0');
});

test('showText: bidi embeddings, overrides and isolates and the line/paragraph separators as \\uXXXX', () => {
  assert.equal(showText('\u202a\u202b\u202c\u202d\u202e'), '\\u202a\\u202b\\u202c\\u202d\\u202e');
  assert.equal(showText('\u2066\u2067\u2068\u2069'), '\\u2066\\u2067\\u2068\\u2069');
  assert.equal(showText('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
  assert.equal(showText(HOSTILE_KEY), KEY_SHOWN);
});

test('showText: a backslash is doubled only where it could be read as the start of an escape', () => {
  // Before a letter an escape could start with, or before another backslash.
  assert.equal(showText('a\\nb'), 'a\\\\nb');
  assert.equal(showText('\\x1b'), '\\\\x1b');
  assert.equal(showText('\\u202e'), '\\\\u202e');
  assert.equal(showText('\\r\\t'), '\\\\r\\\\t');
  assert.equal(showText('a\\\\b'), 'a\\\\\\b');
  // Before a character that is escaped itself, and at the end, where the next rendering might continue it.
  assert.equal(showText('\\\n'), '\\\\\\n');
  assert.equal(showText('dir\\'), 'dir\\\\');
  // Anywhere else it reads as typed.
  assert.equal(showText('C:\\dir'), 'C:\\dir');
});

/** Reads a rendering back, to check that no two texts are drawn alike. */
function decode(shown: string): string {
  return shown.replace(/\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    if (e === 'r') return '\r';
    if (e === 't') return '\t';
    return String.fromCharCode(parseInt(e.slice(1), 16));
  });
}

test('showText: every rendering reads back to exactly the text it came from', () => {
  const pieces = ['\\', 'n', 'x', 'u', '1', 'b', '\n', '\x1b', '\u202e', '\u0085', 'é', ' '];
  // Every string of up to four pieces: ambiguities between backslashes and escapes show up in short strings.
  let texts = [''];
  for (let len = 0; len < 4; len++) {
    texts = texts.flatMap((t) => pieces.map((p) => t + p));
    for (const t of texts) assert.equal(decode(showText(t)), t, JSON.stringify(t));
  }
});

test('showText: the output never holds a character below 0x20, DEL, C1, ESC, or a bidi or separator character', () => {
  let all = '';
  for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
  all += '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069';
  const shown = showText(all);
  assertSafe(shown, 'showText');
  for (const ch of shown) assert.ok(ch.charCodeAt(0) >= 0x20, `char ${ch.charCodeAt(0)}`);
});

test('showLine: a line with nothing unsafe is left alone, so escapes written by showText are not doubled', () => {
  const line = `accept x (1.1, ${showText(HOSTILE)})`;
  assert.equal(showLine(line), line);
  assert.equal(showLine('C:\\new'), 'C:\\new');
  assert.equal(showLine(`raw ${HOSTILE}`), `raw ${SHOWN}`);
});

/** A log entry holding `key=value`; only the fields the descriptions read, since the rest is not what is tested. */
function cmd(key: string, value: string): LogValue & { kind: 'cmd' } {
  return { kind: 'cmd', id: 's:1', origin: 1, command: { op: 'set', key, value } } as unknown as LogValue & {
    kind: 'cmd';
  };
}

test('describeMessage: hostile keys and values come out escaped, on one line, in every basic message', () => {
  const b = Ballot(1, 1);
  const base = { from: 1, to: 2 } as const;
  const messages: BasicMessage[] = [
    { ...base, type: 'prepare', key: HOSTILE_KEY, ballot: b },
    { ...base, type: 'promise', key: HOSTILE_KEY, ballot: b, accepted: { ballot: b, value: HOSTILE } },
    { ...base, type: 'accept', key: HOSTILE_KEY, ballot: b, value: HOSTILE },
    { ...base, type: 'accepted', key: HOSTILE_KEY, ballot: b },
    { ...base, type: 'reject', key: HOSTILE_KEY, ballot: b, promised: b },
    { ...base, type: 'decide', key: HOSTILE_KEY, ballot: b, value: HOSTILE },
    { ...base, type: 'learn', entries: [{ key: HOSTILE_KEY, value: HOSTILE, ballot: b }], nextIndex: 1 },
  ];
  for (const m of messages) {
    const text = describeMessage('basic', m);
    assertSafe(text, `basic ${m.type}`);
    assert.ok(text.includes(KEY_SHOWN), text);
  }
  assert.equal(describeMessage('basic', messages[2]!), `node-1 → node-2 accept ${KEY_SHOWN} (1.1, ${SHOWN})`);
});

test('describeMessage: hostile commands come out escaped in accept, forward and learn (multi)', () => {
  const b = Ballot(2, 1);
  const base = { from: 1, to: 2 } as const;
  const value = cmd(HOSTILE_KEY, HOSTILE);
  const messages: MultiMessage[] = [
    { ...base, type: 'accept', epoch: 0, ballot: b, entries: [{ slot: 3, value }], commitIndex: 3 },
    {
      ...base,
      type: 'accept',
      epoch: 0,
      ballot: b,
      entries: [
        { slot: 3, value },
        { slot: 4, value },
      ],
      commitIndex: 3,
    },
    { ...base, type: 'forward', value },
    { ...base, type: 'learn', entries: [{ slot: 3, value }], commitIndex: 4 },
  ];
  for (const m of messages) {
    const text = describeMessage('multi', m);
    assertSafe(text, `multi ${m.type}`);
    assert.ok(text.includes(`${KEY_SHOWN}=${SHOWN}`), text);
  }
});

test("describeCoreEvent (logs) and the dashboard's log sentences escape keys, values and notes", () => {
  const b = Ballot(1, 2);
  const events = [
    { type: 'phase1', ballot: b, instance: HOSTILE_KEY },
    { type: 'phase2', ballot: b, instance: HOSTILE_KEY, value: HOSTILE, valueId: 'v', quorum: [1, 2], adopted: true },
    { type: 'phase2', ballot: b, instance: '7', value: `x=${HOSTILE}`, valueId: 'v', quorum: [1, 2], adopted: true },
    { type: 'preempted', ballot: b, by: Ballot(1, 3), instance: HOSTILE_KEY },
    { type: 'note', text: `a note quoting ${HOSTILE}` },
  ] as const;
  for (const e of events) {
    assertSafe(describeCoreEvent(e), `core ${e.type}`);
    assertSafe(describeForLog('basic', e), `dashboard basic ${e.type}`);
    assertSafe(describeForLog('multi', e), `dashboard multi ${e.type}`);
  }
  assert.equal(describeCoreEvent(events[1]), `proposes ${KEY_SHOWN}=${SHOWN} at 1.2 (adopted from a promise)`);
  assert.equal(describeForLog('basic', events[1]), `proposes ${KEY_SHOWN}=${SHOWN} at 1.2 (adopted from a promise)`);
});

const noActions: DashboardActions = {
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
};

function hostileReplicaStatus(node: number, protocol: 'multi' | 'basic'): ClusterEvent {
  const b = Ballot(4, 3);
  return status({
    node,
    protocol,
    role: node === 3 ? 'leader' : 'follower',
    leader: 3,
    promised: b,
    chosenCount: 18,
    uptimeMs: 3000,
    lastAccepted: {
      instance: protocol === 'multi' ? '18' : HOSTILE_KEY,
      ballot: b,
      value: protocol === 'multi' ? `x=${HOSTILE}` : HOSTILE,
    },
    ...(protocol === 'basic'
      ? { keys: [{ key: HOSTILE_KEY, promised: b, accepted: { ballot: b, value: HOSTILE }, chosen: HOSTILE }] }
      : {}),
  });
}

/** What reaches the dashboard when someone proposes HOSTILE: every producer escaped it, except the raw log and flow lines, which stand for a producer that forgot. */
function hostileEvents(protocol: 'multi' | 'basic'): ClusterEvent[] {
  const b = Ballot(4, 3);
  const instance = protocol === 'multi' ? '18' : HOSTILE_KEY;
  const value = protocol === 'multi' ? `x=${HOSTILE}` : HOSTILE;
  return [
    hostileReplicaStatus(3, protocol),
    { type: 'chosen', node: 3, instance, value, ballot: b, atMs: 1 },
    {
      type: 'core',
      node: 1,
      event: { type: 'phase2', ballot: b, instance, value, valueId: 'v', quorum: [1, 3], adopted: true },
      atMs: 2,
    },
    { type: 'log', node: 1, line: `raw log line ${HOSTILE}`, atMs: 3 },
    { type: 'flow', node: 3, droppedLines: 0, lines: [{ atMs: 4, type: 'accept', text: `raw flow ${HOSTILE}` }] },
  ];
}

function renderDashboard(protocol: 'multi' | 'basic', color: boolean) {
  const stream = protocol === 'multi' ? multiStream() : basicStream();
  const state = fold([...stream, ...hostileEvents(protocol)], { clusterSize: protocol === 'multi' ? 5 : 3, protocol });
  // Wide and tall, so the escaped text is not cut and the log pane shows node-1, the node whose log got the lines.
  return render(createElement(Dashboard, { state, actions: noActions, columns: 220, rows: 50, color }));
}

for (const protocol of ['multi', 'basic'] as const) {
  test(`dashboard (${protocol}): a hostile value is shown escaped everywhere, and forges no line`, () => {
    const ui = renderDashboard(protocol, false);
    const frame = ui.lastFrame() ?? '';
    // With colour off Ink writes no escape codes of its own, so there must be none at all.
    assert.ok(!frame.includes('\x1b'), JSON.stringify(frame));
    for (const line of frame.split('\n')) assertSafe(line, 'frame line');
    assert.ok(!frame.split('\n').some((l) => l.startsWith('fake line')), frame);
    if (protocol === 'multi') {
      assert.match(frame, new RegExp(`#18 +${escapeRegExp(`x=${SHOWN}`)}`), 'chosen list');
      assert.ok(frame.includes(`#18 (4.3, x=${SHOWN})`), 'replica table');
    } else {
      assert.ok(frame.includes(KEY_SHOWN), 'key table and chosen list');
      assert.ok(frame.includes(`a (4.3, ${SHOWN.slice(0, 8)}`), 'key table accepted cell');
      assert.ok(frame.includes(`${KEY_SHOWN} (4.3, ${SHOWN}`), 'replica table');
    }
    assert.ok(frame.includes(`raw flow ${SHOWN}`), 'message flow');
    assert.ok(frame.includes(`raw log line ${SHOWN}`), 'log pane');
    assert.ok(frame.includes('(adopted'), 'log pane core event');
    ui.unmount();
  });

  test(`dashboard (${protocol}): with colour on, the only escape codes are Ink's own styling`, () => {
    const ui = renderDashboard(protocol, true);
    const frame = ui.lastFrame() ?? '';
    assert.match(frame, /\x1b\[\d+m/, 'colour is on');
    // Ink styles with SGR codes only (ESC [ digits m); a leaked ESC [2J or a lone ESC is anything else.
    const other = frame.replace(/\x1b\[[0-9;]*m/g, '');
    assert.ok(!other.includes('\x1b'), JSON.stringify(other));
    assert.ok(stripAnsi(frame).includes(`raw flow ${SHOWN}`));
    ui.unmount();
  });
}

test('dashboard: an action that fails quoting a hostile value shows it escaped in the status line', async () => {
  const state = fold(multiStream(), { clusterSize: 5, protocol: 'multi' });
  const actions = {
    ...noActions,
    kill: async () => {
      throw new Error(`refused ${HOSTILE}`);
    },
  };
  const ui = render(createElement(Dashboard, { state, actions, columns: 120, rows: 30, color: false }));
  // k asks first; y confirms.
  for (const key of ['k', 'y']) {
    ui.stdin.write(key);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }
  const frame = ui.lastFrame() ?? '';
  assert.ok(frame.includes(`✗ refused ${SHOWN}`), frame);
  assert.ok(!frame.includes('\x1b'));
  ui.unmount();
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('paxos status table: a hostile key and value are escaped and cut, and the table keeps one line per replica', () => {
  const replica = (id: number): ClusterStatus['replicas'][number] => ({
    id,
    port: 7000 + id,
    pid: 4000 + id,
    up: true,
    isolated: false,
    status: (hostileReplicaStatus(id, 'basic') as { type: 'status'; status: ReplicaStatus }).status,
  });
  const s: ClusterStatus = {
    protocol: 'basic',
    clusterSize: 2,
    orchestratorPid: 99,
    faults: {},
    replicas: [replica(1), replica(2)],
  };
  const text = renderStatus(s);
  const lines = text.split('\n');
  assert.equal(lines.length, 4, text);
  for (const line of lines) assertSafe(line, 'status line');
  assert.ok(lines[2]!.includes(`${KEY_SHOWN} (4.3, ${SHOWN.slice(0, 15)}…)`), lines[2]);
});

test('paxos up without a terminal: plain event lines escape hostile keys, values and reasons', () => {
  const printer = new PlainEventPrinter();
  const b = Ballot(1, 1);
  const events: ClusterEvent[] = [
    { type: 'chosen', node: 1, instance: HOSTILE_KEY, value: HOSTILE, ballot: b, atMs: 0 },
    { type: 'chosen', node: 1, instance: '5', value: `x=${HOSTILE}`, ballot: b, atMs: 0 },
    {
      type: 'core',
      node: 2,
      event: {
        type: 'phase2',
        ballot: b,
        instance: HOSTILE_KEY,
        value: HOSTILE,
        valueId: 'v',
        quorum: [1, 2],
        adopted: false,
      },
      atMs: 0,
    },
    { type: 'replica-down', node: 3, reason: `exited ${HOSTILE}`, atMs: 0 },
  ];
  const lines = events.map((e) => printer.line(e));
  for (const line of lines) assertSafe(line, 'plain line');
  assert.ok(lines[0]!.includes(`chosen ${KEY_SHOWN}=${SHOWN} at 1.1`), lines[0]!);
  assert.ok(lines[1]!.includes(`chosen #5 x=${SHOWN} at 1.1`), lines[1]!);
  assert.ok(lines[2]!.includes(`proposes ${KEY_SHOWN}=${SHOWN}`), lines[2]!);
  assert.ok(lines[3]!.includes(`is down: exited ${SHOWN}`), lines[3]!);
});

test('paxos logs: line breaks are kept, other control characters escaped, escaped lines left alone', () => {
  const already = `12:00 proposes x=${SHOWN} at 1.1`;
  const text = `first line\nraw ${HOSTILE}\r\n${already}\n`;
  const out = printable(text);
  assert.equal(out, `first line\nraw ${SHOWN.replace('\\n', '\n')}\\r\n${already}\n`);
  // Every newline left is one the file had; nothing else unsafe remains.
  for (const line of out.split('\n')) assertSafe(line, 'log line');
});
