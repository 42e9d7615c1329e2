/**
 * The session table's horizon for replicas' own sessions (src/core/multi/own-sessions.ts through sessions.ts): when a command is
 * too old to apply, when an applied one is forgotten, and the rule that makes
 * forgetting safe: a late copy of a forgotten command is never applied again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMembership } from '../../src/core/membership.js';
import { emptyMultiState } from '../../src/core/multi/durable.js';
import type { MultiMessage } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { SessionTable } from '../../src/core/multi/sessions.js';
import { must } from '../../src/core/must.js';
import type { Command, PlantedBugs } from '../../src/core/types.js';
import { type MultiReady, stepReady } from './drive.js';

const set = (key: string, value: string): Command => ({ op: 'set', key, value });
const id = (seq: number, session = 's') => ({ session, seq });
// Names that are not numbers are replicas' own sessions: those follow the horizon (registered ones are evicted instead).
const horizonTable = (horizonSlots: number) => new SessionTable({ capacity: 1024, horizonSlots });

test('a command applies when chosen within the horizon of its base, and is expired one slot later', () => {
  const rows: { horizon: number; base: number; slot: number; verdict: 'apply' | 'expired' }[] = [
    { horizon: 1, base: 1, slot: 1, verdict: 'apply' },
    { horizon: 1, base: 1, slot: 2, verdict: 'apply' },
    { horizon: 1, base: 1, slot: 3, verdict: 'expired' },
    { horizon: 4, base: 10, slot: 14, verdict: 'apply' },
    { horizon: 4, base: 10, slot: 15, verdict: 'expired' },
    { horizon: 100, base: 1, slot: 101, verdict: 'apply' },
    { horizon: 100, base: 1, slot: 102, verdict: 'expired' },
    // A base above the slot (a proposer that saw a later commit point than where its command landed) is not old.
    { horizon: 4, base: 20, slot: 12, verdict: 'apply' },
  ];
  for (const r of rows) {
    const table = horizonTable(r.horizon);
    const got = table.admit({ identity: id(1), command: set('x', '1'), base: r.base, slot: r.slot });
    assert.equal(got.kind, r.verdict, JSON.stringify(r));
    assert.equal(
      table.size(),
      r.verdict === 'apply' ? 1 : 0,
      `an expired command is not remembered: ${JSON.stringify(r)}`,
    );
  }
});

test('an applied command is remembered while it is at most the horizon behind the slot being applied', () => {
  const rows: { horizon: number; applied: number; later: number; remembered: boolean }[] = [
    { horizon: 4, applied: 10, later: 11, remembered: true },
    { horizon: 4, applied: 10, later: 14, remembered: true },
    { horizon: 4, applied: 10, later: 15, remembered: false },
    { horizon: 1, applied: 3, later: 4, remembered: true },
    { horizon: 1, applied: 3, later: 5, remembered: false },
  ];
  for (const r of rows) {
    const table = horizonTable(r.horizon);
    table.admit({ identity: id(1), command: set('x', '1'), base: r.applied, slot: r.applied });
    // Another session's command moves the table to `later`.
    table.admit({ identity: id(1, 'other'), command: set('y', '1'), base: r.later, slot: r.later });
    assert.equal(table.appliedAt(id(1)) !== undefined, r.remembered, JSON.stringify(r));
    assert.equal(table.size(), r.remembered ? 2 : 1, JSON.stringify(r));
  }
});

test('a late copy of an applied command is a duplicate while remembered and expired once forgotten, never applied again', () => {
  let checked = 0;
  for (let horizon = 1; horizon <= 4; horizon++) {
    for (let made = 1; made <= 3; made++) {
      for (let applied = made; applied <= made + horizon; applied++) {
        for (let late = applied + 1; late <= applied + 3 * horizon; late++) {
          const table = horizonTable(horizon);
          const first = table.admit({ identity: id(7), command: set('k', 'v'), base: made, slot: applied });
          assert.equal(first.kind, 'apply');
          // The retry carries the same base: it is the same command, made once, sent twice.
          const again = table.admit({ identity: id(7), command: set('k', 'v'), base: made, slot: late });
          const row = JSON.stringify({ horizon, made, applied, late });
          if (late - applied <= horizon) assert.deepEqual(again, { kind: 'duplicate', slot: applied }, row);
          else assert.deepEqual(again, { kind: 'expired' }, row);
          checked++;
        }
      }
    }
  }
  // 3 bases, and per horizon h: h + 1 slots to apply at, 3h later slots: 3 × (2·3 + 3·6 + 4·9 + 5·12) = 360.
  assert.equal(checked, 360);
});

test('entries are oldest first and stay so across eviction and the queue compacting itself', () => {
  const horizon = 5000;
  const table = horizonTable(horizon);
  // More than 4096 evictions, so the queue drops its dead prefix at least once.
  const total = 12_000;
  for (let slot = 1; slot <= total; slot++)
    table.admit({ identity: id(slot, `c${slot % 3}`), command: set('x', String(slot)), base: slot, slot });
  const entries = table.entries().applied;
  assert.equal(table.size(), horizon + 1);
  assert.equal(entries.length, horizon + 1);
  assert.equal(entries[0]?.slot, total - horizon);
  assert.equal(entries.at(-1)?.slot, total);
  for (let i = 1; i < entries.length; i++) assert.equal(entries[i].slot, entries[i - 1].slot + 1);
  // The oldest remembered is still answered as a duplicate; the one before it is gone.
  assert.equal(table.appliedAt(id(total - horizon, `c${(total - horizon) % 3}`))?.slot, total - horizon);
  assert.equal(table.appliedAt(id(total - horizon - 1, `c${(total - horizon - 1) % 3}`)), undefined);
});

test('a table restored from entries decides exactly as the table it came from', () => {
  const horizon = 3;
  const source = horizonTable(horizon);
  for (let slot = 1; slot <= 6; slot++)
    source.admit({ identity: id(slot), command: set('x', String(slot)), base: slot, slot });
  const copy = horizonTable(horizon);
  const { heads, applied } = source.entries();
  copy.restore(heads, applied);
  assert.deepEqual(copy.entries(), source.entries());
  for (let seq = 1; seq <= 6; seq++) {
    const probe = { identity: id(seq), command: set('x', String(seq)), base: seq, slot: 7 };
    assert.deepEqual(copy.admit({ ...probe }), source.admit({ ...probe }), `seq ${seq}`);
  }
});

/**
 * A replica that learns only through snapshots (a removed replica, or one far behind) never applies the slots where
 * copies of its own command land, so it hears no verdict for it: once a snapshot's slot is past the horizon of the
 * commit point the command was made at, no copy will ever be applied, and the replica answers "expired" instead of
 * re-sending it until its deadline, each copy chosen and expired (seed 969 at 3 replicas, horizon 8, snapshots every 2).
 */
function replicaWaitingOnItsOwnCommand(bugs: PlantedBugs = {}, command: Command = set('x', '1')): MultiPaxos {
  const core = new MultiPaxos(
    { id: 2, clusterSize: 3, randomSeed: 1, sessionHorizonSlots: 4, bugs },
    emptyMultiState(),
  );
  const request = { requestId: 'r1', command, identity: id(1, 'n2-1-own'), ownSession: true };
  stepReady(core, { type: 'message', message: heartbeat(1) });
  const ready = stepReady(core, { type: 'request', request });
  assert.ok(
    ready.messages.some((m) => m.type === 'forward' && m.to === 1),
    'the command goes to the leader',
  );
  assert.deepEqual(ready.replies, []);
  return core;
}

/** Node-1 leading at ballot 1.1, its commit point at `commitIndex`. */
const heartbeat = (commitIndex: number): MultiMessage => ({
  type: 'accept',
  from: 1,
  to: 2,
  epoch: 0,
  ballot: { round: 1, node: 1 },
  entries: [],
  commitIndex,
});

/** Forwards of the command over 200 ticks, node-1 heartbeating with its commit point past the snapshot. */
function forwardsOver200Ticks(core: MultiPaxos): number {
  let forwards = 0;
  for (let i = 0; i < 200; i++) {
    if (i % 5 === 0) stepReady(core, { type: 'message', message: heartbeat(11) });
    forwards += stepReady(core, { type: 'tick' }).messages.filter((m) => m.type === 'forward').length;
  }
  return forwards;
}

/** Streams a snapshot through `slot` whose session table holds nothing (its one key came from another client). */
function installEmptyTableThrough(core: MultiPaxos, slot: number): MultiReady {
  const membership = bootstrapMembership([1, 2, 3]);
  const header = { t: 'snapshot' as const, slot, parts: 2, kvCount: 1, sessionCount: 0, appliedCount: 0, membership };
  const parts: MultiMessage[] = [
    { type: 'snapshot', from: 1, to: 2, slot, index: 0, part: header },
    { type: 'snapshot', from: 1, to: 2, slot, index: 1, part: { t: 'kv', entries: [['y', '2']] } },
  ];
  let ready: MultiReady | undefined;
  for (const message of parts) ready = stepReady(core, { type: 'message', message });
  return must(ready, 'two parts make two Readies');
}

test('a replica told by a snapshot past its horizon that its own command can no longer apply answers expired', () => {
  const within = replicaWaitingOnItsOwnCommand();
  assert.deepEqual(
    installEmptyTableThrough(within, 4).replies,
    [],
    'within the horizon a copy may still apply: it waits',
  );
  const past = replicaWaitingOnItsOwnCommand();
  const replies = installEmptyTableThrough(past, 10).replies;
  assert.equal(replies.length, 1);
  assert.deepEqual(
    {
      ok: replies[0]?.ok,
      outcome: (replies[0] as { outcome?: string }).outcome,
      code: (replies[0] as { code?: string }).code,
    },
    { ok: false, outcome: 'unknown', code: 'expired' },
  );
  assert.equal(forwardsOver200Ticks(past), 0, 'an answered command is never forwarded again');
});

test('planted wait-on-expired-own-command: the same replica keeps waiting on its command past the horizon', () => {
  const core = replicaWaitingOnItsOwnCommand({ waitOnExpiredOwnCommand: true });
  assert.deepEqual(installEmptyTableThrough(core, 10).replies, [], 'the plant leaves the client waiting');
  assert.ok(forwardsOver200Ticks(core) > 0, 'and sends the command again, a copy that can only expire');
});

test("a registration, numbered in the replica's own session, expires the same way (seed 85 at 7 replicas, horizon 8)", () => {
  const within = replicaWaitingOnItsOwnCommand({}, { op: 'register' });
  assert.deepEqual(installEmptyTableThrough(within, 4).replies, []);
  const past = replicaWaitingOnItsOwnCommand({}, { op: 'register' });
  const replies = installEmptyTableThrough(past, 10).replies;
  assert.deepEqual(
    replies.map((r) => [r.ok, (r as { code?: string }).code]),
    [[false, 'expired']],
  );
  assert.equal(forwardsOver200Ticks(past), 0);
});
