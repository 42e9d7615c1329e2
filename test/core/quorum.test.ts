/**
 * The quorum rules (src/core/config.ts, rules.ts): a majority of the
 * configured voters, never of the replicas that happen to be up, so any two
 * quorums of one configuration intersect; the planted bugs that bend the rule;
 * and a real candidate that wins on exactly the quorum-th promise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ballot } from '../../src/core/ballot.js';
import { requiredQuorumOf, resolveConfig } from '../../src/core/config.js';
import { MAX_VOTERS } from '../../src/core/membership.js';
import type { PromiseMsg } from '../../src/core/multi/messages.js';
import { MultiPaxos } from '../../src/core/multi/replica.js';
import { rulesOf } from '../../src/core/multi/rules.js';
import { type PlantedBugs, quorumSize } from '../../src/core/types.js';
import { sent, stepReady, tickUntil } from './drive.js';

test('a quorum is a majority of the voters', () => {
  const rows = [
    { voters: 1, quorum: 1 },
    { voters: 2, quorum: 2 },
    { voters: 3, quorum: 2 },
    { voters: 4, quorum: 3 },
    { voters: 5, quorum: 3 },
    { voters: 6, quorum: 4 },
    { voters: 7, quorum: 4 },
    { voters: 15, quorum: 8 },
  ];
  for (const r of rows) assert.equal(quorumSize(r.voters), r.quorum, `${r.voters} voters`);
  for (let n = 1; n <= MAX_VOTERS; n++) {
    const q = quorumSize(n);
    assert.ok(2 * q > n, `two quorums of ${n} voters intersect`);
    assert.ok(q <= n, `${n} voters can form a quorum`);
  }
});

test('how many replicas are up never changes the quorum', () => {
  const cfg = resolveConfig({ id: 1, clusterSize: 5, randomSeed: 1 });
  for (let voters = 1; voters <= 7; voters++)
    for (let live = 0; live <= voters; live++)
      assert.equal(requiredQuorumOf(cfg, voters, live), quorumSize(voters), `${voters} voters, ${live} up`);
});

test('each planted quorum bug bends the rule so that two quorums can miss each other', () => {
  const rows: { bug: keyof PlantedBugs; voters: number; live: number; quorum: number }[] = [
    { bug: 'quorumOfLive', voters: 5, live: 2, quorum: 2 },
    { bug: 'quorumOfLive', voters: 5, live: 0, quorum: 1 },
    { bug: 'quorumOfLive', voters: 3, live: 3, quorum: 2 },
    { bug: 'quorumMinusOne', voters: 3, live: 3, quorum: 1 },
    { bug: 'quorumMinusOne', voters: 5, live: 5, quorum: 2 },
    { bug: 'quorumMinusOne', voters: 1, live: 1, quorum: 1 },
    { bug: 'quorumHalf', voters: 4, live: 4, quorum: 2 },
    { bug: 'quorumHalf', voters: 5, live: 5, quorum: 3 },
    { bug: 'quorumHalf', voters: 2, live: 2, quorum: 1 },
  ];
  for (const r of rows) {
    const cfg = resolveConfig({ id: 1, clusterSize: r.voters, randomSeed: 1, bugs: { [r.bug]: true } });
    assert.equal(requiredQuorumOf(cfg, r.voters, r.live), r.quorum, JSON.stringify(r));
    // The Multi-Paxos parts read the rule through `rules.quorumOf`: the same function, bugs included.
    assert.equal(rulesOf(cfg).quorumOf(r.voters, r.live), r.quorum, JSON.stringify(r));
  }
  for (const bug of ['quorumOfLive', 'quorumMinusOne', 'quorumHalf'] as const) {
    const cfg = resolveConfig({ id: 1, clusterSize: 4, randomSeed: 1, bugs: { [bug]: true } });
    const disjoint = [2, 3, 4, 5].some((n) => 2 * requiredQuorumOf(cfg, n, 1) <= n);
    assert.ok(disjoint, `${bug} lets two quorums of some configuration miss each other`);
  }
});

test('a candidate leads on exactly the quorum-th promise, its own included', () => {
  const rows: { voters: number; bugs?: PlantedBugs; peerPromises: number }[] = [
    { voters: 1, peerPromises: 0 },
    { voters: 2, peerPromises: 1 },
    { voters: 3, peerPromises: 1 },
    { voters: 4, peerPromises: 2 },
    { voters: 5, peerPromises: 2 },
    { voters: 3, bugs: { quorumMinusOne: true }, peerPromises: 0 },
    { voters: 4, bugs: { quorumHalf: true }, peerPromises: 1 },
  ];
  for (const r of rows) {
    const name = JSON.stringify(r);
    const core = new MultiPaxos({ id: 1, clusterSize: r.voters, randomSeed: 7, ...(r.bugs ? { bugs: r.bugs } : {}) });
    const { ready } = tickUntil(core, (rd) => rd.events.some((e) => e.type === 'phase1'), 200);
    const prepares = sent(ready).filter((m) => m.type === 'prepare');
    assert.equal(prepares.length, r.voters - 1, `prepares go to every other voter: ${name}`);
    const phase1 = ready.events.find((e) => e.type === 'phase1');
    assert.ok(phase1 !== undefined && phase1.type === 'phase1');
    const ballot: Ballot = phase1.ballot;
    let led = ready.events.some((e) => e.type === 'leader');
    let promises = 0;
    for (let peer = 2; peer <= r.voters && !led; peer++) {
      const promise: PromiseMsg = {
        type: 'promise',
        from: peer,
        to: 1,
        epoch: 0,
        ballot,
        fromSlot: 1,
        commitIndex: 1,
        accepted: [],
      };
      const after = stepReady(core, { type: 'message', message: promise });
      promises++;
      led = after.events.some((e) => e.type === 'leader');
    }
    assert.ok(led, `became leader: ${name}`);
    assert.equal(promises, r.peerPromises, `peer promises it took: ${name}`);
    assert.equal(core.view().role, 'leader', name);
    assert.deepEqual(ballot, Ballot(ballot.round, 1), `a ballot of its own: ${name}`);
  }
});
