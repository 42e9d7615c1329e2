/**
 * The step journal without processes: what a live scenario reads of a
 * replica. Learned values come after the last message of their Ready (the
 * order the scripted runner prints), writes report lazy records first, and
 * the journal is bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ready } from '../../src/core/types.js';
import type { PeerMessage } from '../../src/node/replica.js';
import { type JournalEntry, MAX_JOURNAL_ENTRIES, StepJournal } from '../../src/node/step-journal.js';
import type { DurableLog } from '../../src/storage/storage.js';

const accepted = { type: 'accepted', from: 2, to: 1 } as unknown as PeerMessage;

function ready(o: Partial<Ready<PeerMessage, unknown>>): Ready<PeerMessage, unknown> {
  return {
    messages: [],
    earlyMessages: [],
    persist: [],
    persistLazy: [],
    chosen: [],
    replies: [],
    events: [],
    afterPersist: null,
    checkpoint: null,
    ...o,
  } as Ready<PeerMessage, unknown>;
}

function kinds(entries: readonly JournalEntry[]): string[] {
  return entries.map((e) => e.k);
}

test('what a Ready learned is journalled after its last message, or at once when it sends none', () => {
  const j = new StepJournal(4);
  const probe = j.probe();
  probe.onRelease!(
    ready({
      messages: [accepted, accepted],
      chosen: [{ instance: 1, value: 'x=1', ballot: { round: 1, node: 1 } }] as never,
    }),
  );
  j.held('2:1', accepted);
  assert.deepEqual(kinds(j.take().entries), ['started', 'send']);
  j.held('2:2', accepted);
  assert.deepEqual(kinds(j.take().entries), ['send', 'learned']);
  probe.onRelease!(ready({ chosen: [{ instance: 2, value: 'y=2', ballot: { round: 1, node: 1 } }] as never }));
  const [learned] = j.take().entries;
  assert.deepEqual(learned, { k: 'learned', chosen: [{ instance: 2, value: 'y=2' }] });
});

test('a write reports the lazy records that rode along with it first, and only once it is durable', () => {
  const j = new StepJournal(0);
  j.take();
  const pending: ((err: Error | null) => void)[] = [];
  const inner: DurableLog<unknown> = {
    recovered: [],
    recoveredSnapshot: null,
    append: (_r, done) => pending.push(done),
    appendLazy: () => undefined,
    checkpoint: (_c, done) => done(null),
    stats: () => ({ records: 0, bytes: 0, fsyncs: 0, appends: 0 }),
  };
  const log = j.wrap(inner);
  log.appendLazy(['lazy']);
  log.append(['own'], () => undefined);
  assert.deepEqual(j.take().entries, [{ k: 'kept', records: ['lazy'] }], 'reported before it is durable');
  pending[0](null);
  assert.deepEqual(j.take().entries, [{ k: 'persists', records: ['lazy', 'own'] }]);
});

test(`the journal keeps at most ${MAX_JOURNAL_ENTRIES} entries between reads and counts the rest`, () => {
  const j = new StepJournal(0);
  for (let i = 0; i < MAX_JOURNAL_ENTRIES + 3; i++) j.held(`1:${i}`, accepted);
  const taken = j.take();
  assert.equal(taken.entries.length, MAX_JOURNAL_ENTRIES);
  assert.equal(taken.dropped, 4);
  assert.deepEqual(j.take(), { entries: [], dropped: 0 });
});
