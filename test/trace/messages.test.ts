/** Protocol messages as trace fields: what the label of each Basic and Multi-Paxos message will say. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import type { LogValue } from '../../src/core/multi/messages.js';
import { readTrace, type SendEvent } from '../../src/trace/format.js';
import { messageFields } from '../../src/trace/messages.js';
import { messageLabel } from '../../src/trace/window.js';
import { recording } from './fixture.js';

/** The label a message gets once recorded and read back. */
function labelOf(fields: ReturnType<typeof messageFields>): string {
  const { lines, recorder } = recording();
  recorder.send(fields);
  const [send] = readTrace(lines.join('\n'));
  assert.equal(send?.ev, 'send');
  return messageLabel(send as SendEvent);
}

const b13 = Ballot(1, 3);

test('Basic Paxos: key, ballot and value; a promise shows what was accepted before, and at which ballot', () => {
  assert.equal(
    labelOf(messageFields('basic', { type: 'prepare', from: 1, to: 2, epoch: 0, key: 'x', ballot: Ballot(1, 1) })),
    'prepare 1.1 x',
  );
  assert.equal(
    labelOf(
      messageFields('basic', {
        type: 'promise',
        from: 2,
        to: 3,
        key: 'x',
        ballot: b13,
        accepted: { ballot: Ballot(1, 1), value: '2' },
      }),
    ),
    'promise 1.3 x=2@1.1',
  );
  assert.equal(
    labelOf(messageFields('basic', { type: 'accept', from: 3, to: 1, epoch: 0, key: 'x', ballot: b13, value: '7' })),
    'accept 1.3 x=7',
  );
  assert.equal(
    labelOf(messageFields('basic', { type: 'reject', from: 3, to: 1, key: 'x', ballot: Ballot(1, 1), promised: b13 })),
    'reject 1.1 x',
  );
  assert.equal(
    labelOf(messageFields('basic', { type: 'decide', from: 3, to: 1, key: 'x', ballot: null, value: '7' })),
    'decide x=7',
  );
});

test('Multi-Paxos: slots and commands; a heartbeat says so, a batch says how many', () => {
  const cmd: LogValue = {
    kind: 'cmd',
    id: 's:1',
    identity: { session: 's', seq: 1 },
    base: 0,
    origin: 1,
    command: { op: 'set', key: 'x', value: '7' },
  };
  assert.equal(
    labelOf(
      messageFields('multi', {
        type: 'accept',
        from: 1,
        to: 2,
        epoch: 0,
        ballot: b13,
        entries: [{ slot: 4, value: cmd }],
        commitIndex: 4,
      }),
    ),
    'accept 1.3 #4 x=7',
  );
  assert.equal(
    labelOf(
      messageFields('multi', { type: 'accept', from: 1, to: 2, epoch: 0, ballot: b13, entries: [], commitIndex: 4 }),
    ),
    'accept 1.3 heartbeat',
  );
  assert.equal(
    labelOf(
      messageFields('multi', {
        type: 'accepted',
        from: 2,
        to: 1,
        epoch: 0,
        ballot: b13,
        slots: [4, 5, 6],
        commitIndex: 4,
      }),
    ),
    'accepted 1.3 #4 3 slots',
  );
  assert.equal(
    labelOf(messageFields('multi', { type: 'prepare', from: 1, to: 2, epoch: 0, ballot: b13, fromSlot: 9 })),
    'prepare 1.3 #9',
  );
  assert.equal(
    labelOf(messageFields('multi', { type: 'forward', from: 2, to: 1, value: cmd as LogValue & { kind: 'cmd' } })),
    'forward x=7',
  );
});
