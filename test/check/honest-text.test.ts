/**
 * `paxos check`'s words are true: the timeline counts the --clients, not the
 * final reads as one more client, and a violation's explanation prints times
 * people can read, not performance.now's dozen digits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTimeline, type TimelineOp } from '../../src/check/report-html.js';
import {
  checkLinearizable,
  type KvInput,
  type KvOutput,
  type Operation,
  registerModel,
} from '../../src/linearizability/checker.js';

test('8 clients and the final reads are "8 clients and the final reads", not 9 clients', () => {
  const ops: TimelineOp[] = [];
  for (let client = 0; client <= 8; client++) {
    ops.push({
      client,
      key: 'k',
      op: 'get',
      value: null,
      outcome: 'ok',
      startMs: client * 10,
      endMs: client * 10 + 5,
      node: 1,
    });
  }
  const html = renderTimeline({ title: 't', verdict: 'pass', ops, nemesis: [], durationMs: 100 });
  assert.match(html, /9 operations from 8 clients and the final reads over/);
  assert.match(html, />final reads<\/div>/);
  assert.doesNotMatch(html, />client 0</);
});

test('a violation names call and return times to a tenth of a millisecond', () => {
  const history: Operation<KvInput, KvOutput>[] = [
    {
      clientId: 1,
      input: { op: 'set', key: 'x', value: '1' },
      output: { value: '1' },
      callTime: 10.123456789,
      returnTime: 12.987654321,
    },
    {
      clientId: 2,
      input: { op: 'get', key: 'x' },
      output: { value: '2' },
      callTime: 20.55555555,
      returnTime: 21.44444444,
    },
  ];
  const r = checkLinearizable(registerModel, history);
  assert.equal(r.ok, false);
  assert.ok(r.ok === false && r.reason.includes('[20.6, 21.4]'), r.ok === false ? r.reason : '');
  assert.doesNotMatch(r.ok === false ? r.reason : '', /\d\.\d{2,}/);
});
