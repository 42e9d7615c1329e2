import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  availability,
  type ChosenLog,
  checkAgreement,
  checkDurability,
  checkLinearizability,
  checkRefusedNeverChosen,
} from '../../src/check/checks.js';
import { type HistoryEvent, pairOperations, toOperations } from '../../src/check/history.js';

const inv = (
  process: number,
  seq: number,
  op: 'set' | 'get',
  key: string,
  value: string | null,
  timeMs: number,
): HistoryEvent => ({ type: 'invoke', process, seq, op, key, value, session: `s${process}`, node: 1, timeMs });
const done = (
  type: 'ok' | 'fail' | 'info',
  process: number,
  seq: number,
  value: string | null,
  timeMs: number,
): HistoryEvent => ({ type, process, seq, value, timeMs });

test('ok, fail and info become a result, nothing, and an open operation', () => {
  const ops = pairOperations([
    inv(1, 1, 'set', 'x', 'a', 0),
    done('ok', 1, 1, 'a', 5),
    inv(2, 1, 'set', 'x', 'b', 1),
    done('fail', 2, 1, null, 6),
    inv(3, 1, 'set', 'x', 'c', 2),
    done('info', 3, 1, null, 7),
    inv(4, 1, 'get', 'x', null, 3),
  ]);
  const lin = toOperations(ops);
  assert.equal(lin.length, 3, 'the failed write is left out');
  assert.equal(lin.filter((o) => o.returnTime === Infinity).length, 2, 'info and never-answered stay open');
});

test('a stale read is not linearizable and its key is named', () => {
  const ops = pairOperations([
    inv(1, 1, 'set', 'x', 'a', 0),
    done('ok', 1, 1, 'a', 1),
    inv(1, 2, 'set', 'x', 'b', 2),
    done('ok', 1, 2, 'b', 3),
    inv(2, 1, 'get', 'x', null, 4),
    done('ok', 2, 1, 'a', 5),
  ]);
  const v = checkLinearizability({ protocol: 'multi', ops, deadlineMs: 5000 });
  assert.equal(v.ok, false);
  assert.deepEqual(v.violatingKeys, ['x']);
  assert.ok(v.suspects.size >= 1 && v.suspects.size <= 3, `the witness is named: ${v.suspects.size}`);
});

test('agreement: a slot chosen differently at two replicas is a conflict; a missing one is only not converged', () => {
  const log = (entries: [string, string][]): ChosenLog => new Map(entries.map(([k, id]) => [k, { id, text: id }]));
  const fine = checkAgreement(
    new Map([
      [
        1,
        log([
          ['1', 'a'],
          ['2', 'b'],
        ]),
      ],
      [2, log([['1', 'a']])],
    ]),
  );
  assert.equal(fine.ok, true);
  assert.equal(fine.converged, false);
  const bad = checkAgreement(
    new Map([
      [1, log([['1', 'a']])],
      [2, log([['1', 'z']])],
    ]),
  );
  assert.equal(bad.ok, false);
  assert.match(bad.conflicts[0], /node-1 chose a, node-2 chose z/);
});

test('durability: an acknowledged write missing from a replica is reported', () => {
  const ops = pairOperations([
    inv(1, 1, 'set', 'x', 'a', 0),
    done('ok', 1, 1, 'a', 1),
    inv(1, 2, 'set', 'y', 'b', 2),
    done('info', 1, 2, null, 3),
  ]);
  const has = new Map([[1, new Map([['1', { id: 's1:1', text: 'x=a' }]])]]);
  assert.equal(checkDurability({ protocol: 'multi', ops, logs: has }).ok, true, 'an unknown write need not be there');
  const lacks = new Map([[1, new Map([['1', { id: 'noop', text: 'no-op' }]])]]);
  const v = checkDurability({ protocol: 'multi', ops, logs: lacks });
  assert.equal(v.ok, false);
  assert.match(v.missing[0], /node-1 lacks x=a/);
});

test('refused answers: a refused write whose value a replica chose is reported, in both protocols', () => {
  const ops = pairOperations([
    inv(1, 1, 'set', 'x', 'a', 0),
    done('fail', 1, 1, null, 5),
    inv(2, 1, 'set', 'y', 'b', 1),
    done('fail', 2, 1, null, 6),
    inv(3, 1, 'set', 'x', 'c', 2),
    done('ok', 3, 1, 'c', 7),
  ]);
  const multi = new Map<number, ChosenLog>([
    [1, new Map([['1', { id: 'i1', text: 'x=c' }]])],
    [2, new Map([['2', { id: 'i2', text: 'x=a' }]])],
  ]);
  const m = checkRefusedNeverChosen({ protocol: 'multi', ops, logs: multi });
  assert.equal(m.ok, false);
  assert.equal(m.refused, 2);
  assert.equal(m.chosen.length, 1);
  assert.match(m.chosen[0], /^node-2 chose x=a, which client 1 was told was refused/);
  assert.equal(m.suspects.size, 1);
  const basic = new Map<number, ChosenLog>([[1, new Map([['x', { id: 'c', text: 'c' }]])]]);
  assert.equal(checkRefusedNeverChosen({ protocol: 'basic', ops, logs: basic }).ok, true, 'x chose c, not a');
  basic.set(2, new Map([['y', { id: 'b', text: 'b' }]]));
  const b = checkRefusedNeverChosen({ protocol: 'basic', ops, logs: basic });
  assert.equal(b.ok, false);
  assert.match(b.chosen[0], /^node-2 chose y=b/);
});

test('availability is split into calm periods and each kind of fault', () => {
  const ops = pairOperations([
    inv(1, 1, 'set', 'x', 'a', 0),
    done('ok', 1, 1, 'a', 1),
    inv(1, 2, 'set', 'x', 'b', 1500),
    done('info', 1, 2, null, 2500),
  ]);
  const a = availability(ops, [{ fault: { kind: 'kill-all' }, startMs: 1000, endMs: 3000 }]);
  assert.equal(a.overall, 0.5);
  assert.equal(a.calm, 1);
  assert.equal(a.byFault['kill-all'], 0);
});
