/**
 * Issue 22, item 5: a leader stops proposing after a stop-sign of its epoch
 * (a configuration change naming it), waiting for the next epoch. When apply
 * refuses that change (here: its identity was already used for another
 * command), no next epoch ever comes, so the leader must propose again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScenarioCluster } from './scenario.js';

test('a stop-sign that apply refuses (a reused identity) lets its leader go on deciding', () => {
  const c = new ScenarioCluster();
  c.run('cluster multi 3');
  c.run('tick node-1 30');
  c.run('deliver-all');
  // Node-1's own session (as its shell names it in the scenario runner): a registered one would do as well.
  const identity = { session: 'node-1.1', seq: 1000 };
  // The identity is applied once, for x=1 ...
  c.request(1, { op: 'set', key: 'x', value: '1' }, identity);
  c.run('deliver-all');
  // ... and reused for a change naming the current epoch: a stop-sign, which apply refuses.
  c.request(1, { op: 'config', fromEpoch: 0, voters: [1, 2, 3] }, identity);
  const refused = c.run('deliver-all');
  assert.match(refused, /reuses an identity/, refused);
  c.run('propose node-1 y=2');
  const after = c.run('deliver-all');
  assert.match(after, /node-1 learned #\d+: y=2/, `the leader proposed nothing after the refused stop-sign:\n${after}`);
  assert.match(after, /node-1 replies to r\d+: y=2/, after);
});
