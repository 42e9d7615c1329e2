/**
 * The admin API's fault state on a hand-driven clock: rule sets replace
 * older versions only, expire on their own after their TTL, and so does a
 * freeze; a client token is refused every request that is not a command
 * or a read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminFaults, checkRole, parseAdminRequest, routeAdmin } from '../../src/node/admin.js';
import { ManualClock } from '../../src/node/clock.js';
import type { FaultRules } from '../../src/transport/faults.js';
import { canTalk, decide } from '../../src/transport/faults.js';

function harness() {
  const clock = new ManualClock();
  const applied: FaultRules[] = [];
  const frozen: boolean[] = [];
  const admin = new AdminFaults({
    clock,
    applyRules: (r) => applied.push(r),
    setFrozen: (f) => frozen.push(f),
    exit: () => assert.fail('no crash was asked'),
    log: () => undefined,
  });
  return { clock, applied, frozen, admin };
}

test('a rule set is applied, expires after its TTL by itself, and an older version is refused', () => {
  const h = harness();
  const set = (version: number, rules: unknown, ttlMs: number) =>
    h.admin.handle(parseAdminRequest({ op: 'set-rules', version, ttlMs, rules }));
  set(5, { partition: [[1], [2, 3]] }, 1000);
  assert.deepEqual(h.applied.at(-1), { partition: [[1], [2, 3]] });
  assert.throws(() => set(5, {}, 1000), /not newer than version 5/);
  assert.throws(() => set(4, {}, 1000), /not newer than version 5/);
  h.clock.advance(900);
  assert.equal(h.applied.length, 1, 'still in force before its TTL');
  h.clock.advance(200);
  assert.deepEqual(h.applied.at(-1), {}, 'expired: every link as it was');
  assert.equal((h.admin.state() as { rulesExpireInMs: number | null }).rulesExpireInMs, null);
  set(6, { cuts: [{ from: 1, to: 2 }] }, 500);
  set(7, { dropRate: 0.5 }, 5000);
  h.clock.advance(1000);
  assert.deepEqual(h.applied.at(-1), { dropRate: 0.5 }, 'a newer set replaces the older one and its expiry');
});

test('every rule needs a TTL within bounds', () => {
  assert.throws(() => parseAdminRequest({ op: 'set-rules', version: 1, rules: {} }), /ttlMs is required/);
  assert.throws(() => parseAdminRequest({ op: 'set-rules', version: 1, ttlMs: 1e9, rules: {} }), /at most/);
  assert.throws(() => parseAdminRequest({ op: 'freeze' }), /ttlMs is required/);
  assert.throws(
    () => parseAdminRequest({ op: 'set-rules', version: 1, ttlMs: 10, rules: { cuts: [{ from: 2, to: 2 }] } }),
    /two different replica ids/,
  );
});

test('a freeze thaws by itself after its TTL, or at a thaw', () => {
  const h = harness();
  h.admin.handle(parseAdminRequest({ op: 'freeze', ttlMs: 300 }));
  assert.deepEqual(h.frozen, [true]);
  h.clock.advance(400);
  assert.deepEqual(h.frozen, [true, false]);
  h.admin.handle(parseAdminRequest({ op: 'freeze', ttlMs: 10_000 }));
  h.admin.handle(parseAdminRequest({ op: 'thaw' }));
  assert.deepEqual(h.frozen, [true, false, true, false]);
});

test('one-way cuts and per-link rules, in the one fault module', () => {
  const rules: FaultRules = { cuts: [{ from: 1, to: 2 }], links: [{ from: 3, to: 1, dropRate: 1 }], dropRate: 0 };
  assert.equal(canTalk(rules, 1, 2), false);
  assert.equal(canTalk(rules, 2, 1), true, 'a cut is one way');
  assert.equal(decide(rules, 3, 1, () => 0.5).deliver, false, 'the per-link drop rate');
  assert.equal(decide(rules, 1, 3, () => 0.5).deliver, true, 'the other direction keeps the cluster-wide rate');
  const delayed = decide({ links: [{ from: 1, to: 2, delayMs: { min: 40, max: 40 } }] }, 1, 2, () => 0.5);
  assert.equal(delayed.delayMs, 40);
});

test('a client token may propose, get and read status, and nothing else', async () => {
  for (const op of ['propose', 'get', 'status']) assert.doesNotThrow(() => checkRole('client', op));
  for (const op of ['set-rules', 'crash', 'freeze', 'reconfigure', 'faults']) {
    assert.throws(() => checkRole('client', op), /needs the admin token/);
    assert.doesNotThrow(() => checkRole('admin', op));
  }
  const h = harness();
  await assert.rejects(
    () => routeAdmin(h.admin, 'client', { op: 'crash' }, () => Promise.resolve('passed on')),
    /needs the admin token/,
  );
  assert.equal(await routeAdmin(h.admin, 'client', { op: 'get' }, () => Promise.resolve('passed on')), 'passed on');
  await assert.rejects(
    () => routeAdmin(h.admin, 'admin', { op: 'faults', rules: {} }, () => Promise.resolve(1)),
    /set-rules/,
  );
});
