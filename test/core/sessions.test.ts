/**
 * The replicated session table (src/core/multi/sessions.ts): what it decides
 * for each command chosen, one case per row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandText, SessionTable, sameCommand } from '../../src/core/multi/sessions.js';
import type { Command } from '../../src/core/types.js';

const set = (key: string, value: string): Command => ({ op: 'set', key, value });
const id = (seq: number) => ({ session: 's', seq });

test('a retry is a duplicate, another command under the same identity is refused, a new one applies', () => {
  const cases: { name: string; first: Command; again: Command; verdict: string }[] = [
    { name: 'the same command again', first: set('x', '1'), again: set('x', '1'), verdict: 'duplicate' },
    { name: 'another value', first: set('x', '1'), again: set('x', '2'), verdict: 'identity-reused' },
    // Under the old fingerprint both read `s\0a\0b\0c`: a different command passed as a retry and was never applied.
    {
      name: 'NUL moves between key and value',
      first: set('a\u0000b', 'c'),
      again: set('a', 'b\u0000c'),
      verdict: 'identity-reused',
    },
    {
      name: "a read under a write's identity",
      first: set('x', '1'),
      again: { op: 'get', key: 'x' },
      verdict: 'identity-reused',
    },
    {
      name: "a change under a write's identity",
      first: set('config', '1'),
      again: { op: 'config', fromEpoch: 0, voters: [1] },
      verdict: 'identity-reused',
    },
  ];
  for (const c of cases) {
    const table = new SessionTable(100);
    assert.equal(table.admit({ identity: id(1), command: c.first, base: 1, slot: 1 }).kind, 'apply', c.name);
    assert.equal(table.admit({ identity: id(1), command: c.again, base: 1, slot: 2 }).kind, c.verdict, c.name);
  }
});

test('commands are compared whole: no two different commands share a text', () => {
  const commands: Command[] = [
    set('a\u0000b', 'c'),
    set('a', 'b\u0000c'),
    set('a,b', 'c'),
    set('a', ',b,c'),
    { op: 'get', key: 'a' },
    set('a', ''),
    { op: 'config', fromEpoch: 1, voters: [2, 3] },
    { op: 'config', fromEpoch: 12, voters: [3] },
    set('"]', '['),
    set('', '"]'),
  ];
  const texts = new Set(commands.map(commandText));
  assert.equal(texts.size, commands.length);
  assert.ok(sameCommand(set('x', '1'), set('x', '1')));
  assert.ok(!sameCommand(set('a\u0000b', 'c'), set('a', 'b\u0000c')));
});

test('a command chosen more than the horizon after its base is expired; an entry older than the horizon is forgotten', () => {
  const table = new SessionTable(4);
  assert.equal(table.admit({ identity: id(1), command: set('x', '1'), base: 1, slot: 6 }).kind, 'expired');
  assert.equal(table.admit({ identity: id(2), command: set('x', '2'), base: 5, slot: 6 }).kind, 'apply');
  assert.deepEqual(table.appliedAt(id(2)), { slot: 6, command: commandText(set('x', '2')) });
  table.admit({ identity: id(3), command: set('y', '1'), base: 10, slot: 11 });
  assert.equal(table.appliedAt(id(2)), undefined, 'evicted once applied more than 4 slots ago');
  assert.equal(table.size(), 1);
});

test('a snapshot of the table restores every entry with its whole command', () => {
  const table = new SessionTable(100);
  table.admit({ identity: id(1), command: set('a\u0000b', 'c'), base: 1, slot: 1 });
  table.admit({ identity: { session: 't', seq: 7 }, command: { op: 'get', key: 'k' }, base: 1, slot: 2 });
  const copy = new SessionTable(100);
  copy.restore(table.entries());
  assert.deepEqual(copy.entries(), table.entries());
  assert.equal(
    copy.admit({ identity: id(1), command: set('a', 'b\u0000c'), base: 1, slot: 3 }).kind,
    'identity-reused',
  );
  assert.equal(copy.admit({ identity: id(1), command: set('a\u0000b', 'c'), base: 1, slot: 3 }).kind, 'duplicate');
});
