import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BY_ADMIN_API, describeFault, drawSchedule, NEMESIS_KINDS, parseNemesis } from '../../src/check/nemesis.js';

test('the same seed gives the same schedule; another seed another one', () => {
  const o = { seed: 7, clusterSize: 5, durationMs: 60_000, kinds: NEMESIS_KINDS };
  assert.deepEqual(drawSchedule(o), drawSchedule(o));
  assert.notDeepEqual(drawSchedule(o), drawSchedule({ ...o, seed: 8 }));
});

test('faults do not overlap, leave a calm tail, and only use the kinds asked for', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const s = drawSchedule({ seed, clusterSize: 5, durationMs: 30_000, kinds: ['kill', 'partition'] });
    assert.ok(s.length >= 2, `seed ${seed}: a 30 s run has several faults`);
    for (let i = 0; i < s.length; i++) {
      assert.ok(s[i].endMs > s[i].startMs);
      if (i > 0) assert.ok(s[i].startMs >= s[i - 1].endMs, 'faults follow one another');
      assert.ok(['kill', 'partition'].includes(s[i].fault.kind));
      const f = s[i].fault;
      if (f.kind === 'partition')
        assert.ok(f.minority.length >= 1 && f.minority.length < 5 / 2, 'a partition cuts off a minority');
    }
    assert.ok(s[s.length - 1].endMs <= 27_000, 'the last seconds are calm, so recovery is measured');
  }
});

test('every kind can be drawn and described', () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 100; seed++) {
    for (const f of drawSchedule({ seed, clusterSize: 3, durationMs: 60_000, kinds: NEMESIS_KINDS })) {
      seen.add(f.fault.kind);
      assert.ok(describeFault(f.fault).length > 0);
    }
  }
  assert.deepEqual([...seen].sort(), [...NEMESIS_KINDS].sort());
});

test('--nemesis parsing: lists, none, and one sentence for a typo', () => {
  assert.deepEqual(parseNemesis('kill,pause'), ['kill', 'pause']);
  assert.deepEqual(parseNemesis('none'), []);
  assert.throws(() => parseNemesis('kill,paws'), /unknown nemesis "paws"/);
});

test('kill and pause say how they are done: signals by the orchestrator, the admin API with --cluster', () => {
  const kill = { kind: 'kill', target: { nodes: [2] } } as const;
  const pause = { kind: 'pause', target: { leader: true } } as const;
  assert.match(describeFault(kill), /^kill node-2 \(SIGKILL, restart at the end\)$/);
  assert.match(describeFault(pause), /SIGSTOP/);
  assert.match(
    describeFault(kill, BY_ADMIN_API),
    /^kill node-2 \(crash through its admin API: .*supervisor restarts it/,
  );
  assert.match(
    describeFault(pause, BY_ADMIN_API),
    /^pause the leader \(freeze through its admin API, thaw at the end\)$/,
  );
  assert.doesNotMatch(describeFault(kill, BY_ADMIN_API) + describeFault(pause, BY_ADMIN_API), /SIG/);
});
