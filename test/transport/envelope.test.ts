/**
 * The trace envelope of a peer frame: a traced sender wraps its batch with
 * the messages' trace ids; frames without it (every untraced sender, and
 * every sender from before tracing) read exactly as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unpackFrame } from '../../src/transport/server.js';

const m = { from: 1, to: 2, type: 'ping' };

test('a plain batch or a lone message carries no trace ids', () => {
  assert.deepEqual(unpackFrame([m, m]), { list: [m, m], ids: [] });
  assert.deepEqual(unpackFrame(m), { list: [m], ids: [] });
});

test('an envelope gives each message its id; an id that is not a positive integer is only ignored', () => {
  assert.deepEqual(unpackFrame({ ids: [129, 0, -3, 'x'], messages: [m, m, m, m] }), {
    list: [m, m, m, m],
    ids: [129, 0, 0, 0],
  });
});

test('an envelope whose ids and messages do not pair up is not one: it is read as a single (malformed) message', () => {
  const odd = { ids: [1], messages: [m, m] };
  assert.deepEqual(unpackFrame(odd), { list: [odd], ids: [] });
});
