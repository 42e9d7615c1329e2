/**
 * The replicated session table (src/core/multi/sessions.ts): what it decides
 * for each command chosen, one case per row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandText, SessionTable, sameCommand } from '../../src/core/multi/sessions.js';
import type { Command, CommandIdentity } from '../../src/core/types.js';

const set = (key: string, value: string): Command => ({ op: 'set', key, value });
const REGISTER: Command = { op: 'register' };
/** A replica's own session (never a number): the slot horizon rules it. */
const own = (seq: number) => ({ session: 'n1-abc', seq });
const table = (capacity = 100, horizonSlots = 100, seqWindow?: number) =>
  new SessionTable({ capacity, horizonSlots, ...(seqWindow !== undefined ? { seqWindow } : {}) });
/** Registers a session at `slot` and gives its name. */
function register(t: SessionTable, slot: number): string {
  const v = t.admit({ identity: own(10_000 + slot), command: REGISTER, base: slot, slot });
  assert.equal(v.kind, 'registered');
  return (v as { session: string }).session;
}
const admit = (t: SessionTable, identity: CommandIdentity, command: Command, slot: number) =>
  t.admit({ identity, command, base: slot, slot }).kind;

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
    for (const kind of ['registered', 'own'] as const) {
      const t = table();
      const identity = kind === 'own' ? own(1) : { session: register(t, 1), seq: 1 };
      assert.equal(admit(t, identity, c.first, 2), 'apply', `${c.name} (${kind})`);
      assert.equal(admit(t, identity, c.again, 3), c.verdict, `${c.name} (${kind})`);
    }
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
    REGISTER,
    set('register', ''),
  ];
  const texts = new Set(commands.map(commandText));
  assert.equal(texts.size, commands.length);
  assert.ok(sameCommand(set('x', '1'), set('x', '1')));
  assert.ok(!sameCommand(set('a\u0000b', 'c'), set('a', 'b\u0000c')));
});

test('a registration numbers its session by its slot; every registration is a new session', () => {
  const t = table();
  assert.equal(register(t, 5), '5');
  assert.equal(register(t, 9), '9');
  assert.equal(t.entries().heads.length, 2);
});

test('at capacity a registration evicts the session whose last request is lowest in the log', () => {
  const t = table(2);
  const a = register(t, 1);
  const b = register(t, 2);
  assert.equal(admit(t, { session: a, seq: 1 }, set('x', '1'), 3), 'apply');
  // b's last use (slot 2) is now the lowest: a third session evicts b, not a.
  const c = register(t, 4);
  assert.equal(admit(t, { session: b, seq: 1 }, set('x', '2'), 5), 'evicted');
  assert.equal(admit(t, { session: a, seq: 2 }, set('x', '3'), 6), 'apply');
  assert.equal(admit(t, { session: c, seq: 1 }, set('x', '4'), 7), 'apply');
  assert.equal(t.entries().heads.length, 2);
});

test('a retry of an applied command after its session was evicted is refused as evicted, never applied again', () => {
  // The slot horizon applied such a retry a second time once it had forgotten the original (issue 22, item 3a).
  const t = table(1);
  const a = register(t, 1);
  assert.equal(admit(t, { session: a, seq: 1 }, set('k2', 'old'), 2), 'apply');
  register(t, 3);
  for (let slot = 4; slot < 100; slot++)
    assert.equal(admit(t, { session: a, seq: 1 }, set('k2', 'old'), slot), 'evicted');
  // Registering again gives a new number: the old session never comes back.
  assert.notEqual(register(t, 100), a);
  assert.equal(admit(t, { session: a, seq: 1 }, set('k2', 'old'), 101), 'evicted');
});

test('a session nobody registered is refused like an evicted one', () => {
  const t = table();
  assert.equal(admit(t, { session: '7', seq: 1 }, set('x', '1'), 8), 'evicted');
  assert.deepEqual(t.status({ session: '7', seq: 1 }), { held: false, mayHaveApplied: true });
});

test('a session forgets its lowest numbers beyond its window: those are expired, never applied again', () => {
  const t = table(100, 100, 4);
  const s = register(t, 1);
  for (let seq = 1; seq <= 5; seq++)
    assert.equal(admit(t, { session: s, seq }, set('x', String(seq)), 1 + seq), 'apply');
  // Five applied with a window of four: the lowest two were forgotten (down to three quarters of the window).
  assert.equal(admit(t, { session: s, seq: 1 }, set('x', '1'), 10), 'expired');
  assert.equal(admit(t, { session: s, seq: 2 }, set('x', '2'), 11), 'expired');
  assert.equal(admit(t, { session: s, seq: 3 }, set('x', '3'), 12), 'duplicate');
  assert.deepEqual(t.status({ session: s, seq: 2 }), { held: true, mayHaveApplied: true });
  assert.deepEqual(t.status({ session: s, seq: 6 }), { held: true, mayHaveApplied: false });
});

test("a replica's own command chosen more than the horizon after its base is expired; an entry older than the horizon is forgotten", () => {
  const t = table(100, 4);
  assert.equal(t.admit({ identity: own(1), command: set('x', '1'), base: 1, slot: 6 }).kind, 'expired');
  assert.equal(t.admit({ identity: own(2), command: set('x', '2'), base: 5, slot: 6 }).kind, 'apply');
  assert.deepEqual(t.appliedAt(own(2)), { slot: 6, command: commandText(set('x', '2')) });
  t.admit({ identity: own(3), command: set('y', '1'), base: 10, slot: 11 });
  assert.equal(t.appliedAt(own(2)), undefined, 'evicted once applied more than 4 slots ago');
  assert.equal(t.size(), 1);
});

test('a snapshot of the table restores every session in its order and every entry with its whole command', () => {
  const t = table(2);
  const a = register(t, 1);
  const b = register(t, 2);
  admit(t, { session: a, seq: 1 }, set('a\u0000b', 'c'), 3);
  admit(t, { session: b, seq: 4 }, { op: 'get', key: 'k' }, 4);
  admit(t, own(7), set('o', 'wn'), 5);
  const copy = table(2);
  const e = t.entries();
  copy.restore(e.heads, e.applied);
  assert.deepEqual(copy.entries(), t.entries());
  assert.equal(admit(copy, { session: a, seq: 1 }, set('a', 'b\u0000c'), 6), 'identity-reused');
  assert.equal(admit(copy, { session: a, seq: 1 }, set('a\u0000b', 'c'), 7), 'duplicate');
  assert.equal(admit(copy, own(7), set('o', 'wn'), 8), 'duplicate');
  // The order came through: b is now the least recently used, and the next registration evicts it.
  register(copy, 9);
  assert.equal(admit(copy, { session: b, seq: 5 }, set('x', '1'), 10), 'evicted');
  assert.equal(admit(copy, { session: a, seq: 2 }, set('x', '1'), 11), 'apply');
});
