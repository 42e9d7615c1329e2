import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import type { HeldMessage } from '../../src/node/step.js';
import { HeldFeed, MAX_HELD_KEPT } from '../../src/ui/held-feed.js';
import { HeldList, heldWindow } from '../../src/ui/held-list.js';
import { stripAnsi } from './fixtures.js';
import { acceptsHeld, heldMessage } from './held.js';

function showList(
  opts: {
    messages?: readonly HeldMessage[];
    total?: number;
    cursor?: number;
    error?: string | null;
    width?: number;
    lines?: number;
    color?: boolean;
  } = {},
) {
  const messages = opts.messages ?? acceptsHeld();
  const ui = render(
    <HeldList
      messages={messages}
      total={opts.total ?? messages.length}
      cursor={opts.cursor ?? 0}
      error={opts.error ?? null}
      width={opts.width ?? 60}
      lines={opts.lines ?? 6}
      color={opts.color ?? false}
    />,
  );
  return { ui, raw: () => ui.lastFrame() ?? '', lines: () => stripAnsi(ui.lastFrame() ?? '').split('\n') };
}

test('each held message is one line: id, from → to, type, ballot, slot, value, aligned; the title counts them', () => {
  const { ui, lines } = showList();
  const l = lines();
  assert.match(l[0], /^── held \(3\) ─+$/);
  assert.equal(l[1].trimEnd(), '› 1:3  node-1 → node-2  accept   1.1  #1  x=7');
  assert.equal(l[2].trimEnd(), '  1:4  node-1 → node-3  accept   1.1  #1  x=7');
  assert.equal(l[3].trimEnd(), '  2:1  node-2 → node-1  promise  1.1  -   -');
  ui.unmount();
});

test('the cursor marks the selected line with › under NO_COLOR, with no ANSI codes; with colour it is also inverse', () => {
  const plain = showList({ cursor: 1 });
  assert.doesNotMatch(plain.raw(), /\x1b\[/);
  const l = plain.lines();
  assert.match(l[2], /^› 1:4 /);
  assert.match(l[1]!, /^ {2}1:3 /);
  assert.match(l[3]!, /^ {2}2:1 /);
  plain.ui.unmount();
  const coloured = showList({ cursor: 1, color: true });
  const selected = coloured
    .raw()
    .split('\n')
    .find((line) => line.includes('1:4'))!;
  assert.match(selected, /\x1b\[7m/, 'the selected line is inverse');
  assert.match(stripAnsi(selected), /^› 1:4 /, 'and keeps its marker');
  assert.doesNotMatch(
    coloured
      .raw()
      .split('\n')
      .find((line) => line.includes('1:3'))!,
    /\x1b\[7m/,
  );
  coloured.ui.unmount();
});

test('nothing held is a sentence, not an empty box', () => {
  const { ui, lines } = showList({ messages: [] });
  assert.match(lines()[0], /held \(0\)/);
  assert.match(lines()[1], /^nothing is held/);
  ui.unmount();
});

test('more messages than lines: a window around the cursor and a +N more line', () => {
  const many = Array.from({ length: 20 }, (_, i) =>
    heldMessage({ id: `1:${i + 1}`, from: 1, to: 2, type: 'accept', ballot: '1.1', slot: i + 1, value: `k=${i + 1}` }),
  );
  const { ui, lines } = showList({ messages: many, cursor: 10, lines: 5 });
  const l = lines();
  assert.equal(l.length, 6, l.join('\n'));
  const shown = l.slice(1, 5).map((line) => line.slice(2).split(' ')[0]);
  assert.deepEqual(shown, ['1:9', '1:10', '1:11', '1:12'], 'four lines, the cursor (index 10) third');
  assert.match(l.find((line) => line.startsWith('›'))!, /^› 1:11 /);
  assert.equal(l[5].trimEnd(), '+16 more (8 above, 8 below)');
  ui.unmount();
  assert.deepEqual(heldWindow(20, 5, 0), { start: 0, end: 4, above: 0, below: 16 });
  assert.deepEqual(heldWindow(20, 5, 19), { start: 16, end: 20, above: 16, below: 0 });
  assert.deepEqual(heldWindow(3, 5, 2), { start: 0, end: 3, above: 0, below: 0 });
});

test('messages a replica did not list (past its thousand) are counted in the +N more line', () => {
  const { ui, lines } = showList({ total: 1003 });
  assert.match(lines()[0], /held \(1003\)/);
  assert.ok(
    lines().some((line) => line.trimEnd() === '+1000 more (1000 not listed)'),
    lines().join('\n'),
  );
  ui.unmount();
});

test('keys and values are user text: escaped, and a long one is cut at the width', () => {
  const hostile = heldMessage({
    id: '1:1',
    from: 1,
    to: 2,
    type: 'accept',
    ballot: '1.1',
    key: 'k\x1b[2J',
    value: `v\n${'w'.repeat(200)}`,
  });
  const { ui, raw, lines } = showList({ messages: [hostile], width: 60 });
  assert.doesNotMatch(raw(), /\x1b\[2J/);
  const line = lines()[1];
  assert.ok(line.includes('k\\x1b[2J'), line);
  assert.ok(line.includes('v\\nwww'), line);
  assert.ok([...line].length <= 60, line);
  assert.ok(line.endsWith('…'), line);
  ui.unmount();
});

test('a failed read is shown above the list it could not replace', () => {
  const { ui, lines } = showList({ error: 'node-2 did not answer' });
  assert.equal(lines()[1].trimEnd(), '✗ node-2 did not answer');
  assert.match(lines()[2], /^› 1:3 /);
  ui.unmount();
});

/** Waits for the feed's reads to settle; bounded. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('the held feed reads at once, publishes only changes, and a refresh during a read reads once more after it', async () => {
  let reads = 0;
  let answer = acceptsHeld();
  let release: () => void = () => undefined;
  const feed = new HeldFeed(() => {
    reads++;
    return new Promise((resolve) => {
      release = () => resolve({ messages: answer, total: answer.length });
    });
  }, 60_000);
  let published = 0;
  feed.subscribe(() => published++);
  feed.refresh();
  await turns();
  assert.equal(reads, 1);
  feed.refresh();
  feed.refresh();
  await turns();
  assert.equal(reads, 1, 'one read at a time');
  release();
  await turns();
  assert.equal(reads, 2, 'the refreshes asked for during the read are one read after it');
  assert.equal(published, 1);
  assert.deepEqual(
    feed.getSnapshot().messages.map((m) => m.id),
    ['1:3', '1:4', '2:1'],
  );
  release();
  await turns();
  assert.equal(published, 1, 'the same answer again does not re-render');
  answer = answer.slice(1);
  feed.refresh();
  await turns();
  release();
  await turns();
  assert.equal(published, 2);
  assert.deepEqual(
    feed.getSnapshot().messages.map((m) => m.id),
    ['1:4', '2:1'],
  );
  feed.stop();
});

test('the held feed polls until stopped, keeps the last list when a read fails, and leaves no timer behind', async () => {
  let reads = 0;
  let fail = false;
  const feed = new HeldFeed(async () => {
    reads++;
    if (fail) throw new Error('the cluster is gone');
    return { messages: acceptsHeld(), total: 3 };
  }, 5);
  feed.refresh();
  for (let i = 0; i < 1000 && reads < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(reads >= 3, `${reads} reads`);
  fail = true;
  const before = reads;
  for (let i = 0; i < 1000 && reads === before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  await turns();
  assert.equal(feed.getSnapshot().error, 'the cluster is gone');
  assert.equal(feed.getSnapshot().messages.length, 3);
  feed.stop();
  const stoppedAt = reads;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(reads <= stoppedAt + 1, 'at most the read already out finishes');
  const settled = reads;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(reads, settled, 'no read after stop');
  feed.refresh();
  await turns();
  assert.equal(reads, settled, 'a refresh after stop does nothing');
});

test('the held feed keeps at most MAX_HELD_KEPT messages', async () => {
  const many = Array.from({ length: MAX_HELD_KEPT + 10 }, (_, i) =>
    heldMessage({ id: `1:${i + 1}`, from: 1, to: 2, type: 'prepare', ballot: '1.1' }),
  );
  const feed = new HeldFeed(async () => ({ messages: many, total: many.length }), 60_000);
  feed.refresh();
  await turns();
  feed.stop();
  assert.equal(feed.getSnapshot().messages.length, MAX_HELD_KEPT);
  assert.equal(feed.getSnapshot().total, MAX_HELD_KEPT + 10);
});
