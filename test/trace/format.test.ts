/**
 * The trace format: what the recorder writes reads back as the same events,
 * the fixture is a valid trace, and a malformed line is one sentence naming
 * the line number and the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { formatEvent, readTrace, TraceRecorder } from '../../src/trace/format.js';
import { faulty, recording, walkthrough, walkthroughText } from './fixture.js';

/** The error readTrace gives for `text`, asserted to be one UsageError sentence. */
function sentenceFor(text: string): string {
  let message = '';
  assert.throws(
    () => readTrace(text, 't.jsonl'),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
      assert.equal(err.message.includes('\n'), false, err.message);
      message = err.message;
      return true;
    },
  );
  return message;
}

test('what the recorder writes reads back as the same events, in order, and formats to the same lines', () => {
  const { lines, recorder: r, at } = recording();
  const id = r.send({ from: 1, to: 2, type: 'accept', ballot: { round: 3, node: 2 }, value: '7', key: 'x', slot: 4 });
  at(5);
  r.deliver(id, 2);
  r.persist(2, 'accept 3.2 x=7');
  r.chosen({ node: 2, instance: 'x', value: '7', ballot: null });
  r.partition([[1], [2, 3]]);
  r.heal();
  r.note('done');
  const events = readTrace(lines.join('\n'));
  assert.deepEqual(
    events.map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual(events[0], {
    seq: 1,
    tick: 0,
    ev: 'send',
    id: 1,
    from: 1,
    to: 2,
    type: 'accept',
    ballot: '3.2',
    value: '7',
    key: 'x',
    slot: 4,
  });
  assert.deepEqual(events[1], { seq: 2, tick: 5, ev: 'deliver', id: 1, to: 2 });
  assert.equal('ballot' in events[3], false, 'a chosen value without a ballot has no ballot field, not null');
  assert.deepEqual(events.map(formatEvent), lines);
});

test('the recorder numbers messages and events from 1 and uses the clock it was given', () => {
  const lines: string[] = [];
  const r = new TraceRecorder((l) => lines.push(l), { unit: 'ms', now: () => 1234.5 });
  assert.equal(r.send({ from: 1, to: 2, type: 'prepare' }), 1);
  assert.equal(r.send({ from: 1, to: 3, type: 'prepare' }), 2);
  r.crash(2);
  assert.deepEqual(JSON.parse(lines[2]), { seq: 3, ms: 1234.5, ev: 'crash', node: 2 });
});

test('the 000 walk-through fixture is a valid trace: three nodes, x=7 chosen on each', () => {
  const events = walkthrough();
  const chosen = events.filter((e) => e.ev === 'chosen');
  assert.deepEqual(
    chosen.map((e) => [e.node, e.instance, e.value, e.ballot]),
    [
      [3, 'x', '7', '1.3'],
      [1, 'x', '7', '1.3'],
      [2, 'x', '7', '1.3'],
    ],
  );
  assert.equal(events.filter((e) => e.ev === 'send').length, 14);
  assert.equal(events.filter((e) => e.ev === 'deliver').length, 14);
  assert.deepEqual(readTrace(walkthroughText()).map(formatEvent), walkthroughText().trim().split('\n'));
});

test('a trace with faults reads back too', () => {
  const kinds = faulty().map((e) => e.ev);
  for (const k of ['drop', 'crash', 'restart', 'partition', 'heal', 'note', 'chosen'] as const)
    assert.ok(kinds.includes(k), k);
});

test('a malformed line is one sentence naming the line number and the field', () => {
  const good = '{"seq":1,"tick":0,"ev":"send","id":1,"from":1,"to":2,"type":"prepare"}';
  assert.match(
    sentenceFor(`${good}\n{"seq":2,"tick":0,"ev":"deliver","id":1,"to":"two"}`),
    /^t\.jsonl line 2: to is invalid \(expected number, got "two"\)$/,
  );
  assert.match(
    sentenceFor(`${good}\n\n{"seq":2,"tick":0,"ev":"sned"}`),
    /^t\.jsonl line 3: the event has ev "sned", which is not an event; ev is one of send, deliver, /,
  );
  assert.match(
    sentenceFor(`{"seq":1,"tick":0,"ev":"send","id":1,"from":1,"to":2,"type":"prepare","ballot":"3"}`),
    /line 1: ballot is invalid \(a ballot written as round\.node/,
  );
  assert.match(sentenceFor(`{"seq":1,"tick":0,"ev":"heal","vlaue":1}`), /line 1: vlaue is not a known field/);
  assert.match(sentenceFor('{"seq":1,"tick":0,'), /line 1 is not JSON/);
  assert.match(sentenceFor('{"seq":1,"ev":"heal"}'), /line 1: the event has no time/);
  assert.match(
    sentenceFor('{"seq":1,"tick":0,"ev":"heal"}\n{"seq":2,"ms":5,"ev":"heal"}'),
    /line 2: the event has ms but the trace's first event has tick/,
  );
  assert.match(
    sentenceFor('{"seq":2,"tick":0,"ev":"heal"}\n{"seq":2,"tick":0,"ev":"heal"}'),
    /line 2: seq 2 does not follow seq 2/,
  );
  assert.match(
    sentenceFor(`${good}\n{"seq":2,"tick":0,"ev":"deliver","id":9,"to":2}`),
    /line 2: deliver names message 9, which no earlier send has/,
  );
  assert.match(
    sentenceFor(`${good}\n{"seq":2,"tick":0,"ev":"deliver","id":1,"to":3}`),
    /line 2: message 1 was sent to node-2 but is delivered to node-3/,
  );
});
