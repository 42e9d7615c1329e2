/**
 * The read of the chosen values a late dashboard missed, against fake replica
 * connections: what it asks for, what it makes of the answers, and that no
 * failure escapes as a rejection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OpenReplica, readMissedChosen } from '../../src/cli/services/dashboard.js';
import { SEED_LIMIT } from '../../src/ui/model.js';

interface Fake {
  readonly asked: Record<string, unknown>[];
  closed: number;
  readonly open: OpenReplica;
}

/** A replica whose control API answers from `reply`; `opened` records which replicas were asked. */
function fakeReplica(reply: (body: Record<string, unknown>) => unknown, opened: number[] = []): Fake {
  const fake: Fake = {
    asked: [],
    closed: 0,
    open: async (node) => {
      opened.push(node);
      return {
        request: async (body: Record<string, unknown>) => {
          fake.asked.push(body);
          return reply(body);
        },
        close: () => {
          fake.closed++;
        },
      };
    },
  };
  return fake;
}

test('multi: asks from SEED_LIMIT slots below the commit index, answers newest first with no ballot', async () => {
  const fake = fakeReplica((body) =>
    body.op === 'status'
      ? { status: { view: { commitIndex: 120 } } }
      : {
          entries: [['119', 'a', 'x=119'], ['71', 'b', 'get y'], ['not an entry'], ['120', 'noop', 'no-op']],
          next: null,
        },
  );
  const missed = await readMissedChosen('multi', [2], fake.open);
  assert.deepEqual(fake.asked, [{ op: 'status' }, { op: 'log', from: 120 - SEED_LIMIT }]);
  assert.ok('entries' in missed);
  assert.equal(missed.node, 2);
  assert.deepEqual(
    missed.entries.map((e) => [e.instance, e.value, e.ballot]),
    [
      ['120', 'no-op', null],
      ['119', 'x=119', null],
      ['71', 'get y', null],
    ],
  );
  assert.equal(fake.closed, 1, 'the connection is closed after the read');
});

test('multi: a young log is read from slot 1', async () => {
  const fake = fakeReplica((body) =>
    body.op === 'status' ? { status: { view: { commitIndex: 4 } } } : { entries: [], next: null },
  );
  await readMissedChosen('multi', [1], fake.open);
  assert.deepEqual(fake.asked[1], { op: 'log', from: 1 });
});

test('basic: reads the first page of sorted keys and keeps the last SEED_LIMIT, the last key on top', async () => {
  const keys = Array.from({ length: SEED_LIMIT + 10 }, (_, i) => `k${String(i).padStart(3, '0')}`);
  const fake = fakeReplica(() => ({ entries: keys.map((k) => [k, `v-${k}`, `v-${k}`]), next: null }));
  const missed = await readMissedChosen('basic', [3], fake.open);
  assert.deepEqual(fake.asked, [{ op: 'log', from: 0 }]);
  assert.ok('entries' in missed);
  assert.equal(missed.entries.length, SEED_LIMIT);
  assert.deepEqual([missed.entries[0].instance, missed.entries[0].value], [keys.at(-1), `v-${keys.at(-1)}`]);
  assert.equal(missed.entries.at(-1)!.instance, keys[10]);
});

test('a replica that fails is skipped for the next; when all fail, or none is up, the reason comes back, never a rejection', async () => {
  const opened: number[] = [];
  const fake = fakeReplica(() => ({ entries: [['k', 'v', 'v']], next: null }), opened);
  const flaky: OpenReplica = async (node) => {
    if (node === 1) throw new Error('cannot reach node-1 on 127.0.0.1:7001: connection refused');
    return fake.open(node);
  };
  const missed = await readMissedChosen('basic', [1, 2], flaky);
  assert.deepEqual(opened, [2]);
  assert.ok('entries' in missed && missed.node === 2);

  const broken = fakeReplica(() => {
    throw new Error('request timed out');
  });
  const failed = await readMissedChosen('basic', [4, 5], broken.open);
  assert.deepEqual(failed, { node: 5, error: 'node-5: request timed out' });
  assert.equal(broken.closed, 2, 'a connection is closed even when its request fails');

  const odd = await readMissedChosen(
    'multi',
    [1],
    fakeReplica((body) => (body.op === 'status' ? {} : { nope: true })).open,
  );
  assert.deepEqual(odd, { node: 1, error: 'node-1: its log answer has no entries' });

  assert.deepEqual(await readMissedChosen('multi', [], fake.open), {
    node: null,
    error: 'no replica is up to read them from',
  });
});
