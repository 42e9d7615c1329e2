/**
 * Paused replicas (src/sim/pauses.ts, issue 22): a replica stopped as by
 * SIGSTOP handles nothing until it resumes, then handles what waited in
 * order, with its interval firing once (time resumes at the thaw); its
 * writes still reach the disk meanwhile. Seeds draw pauses from their own
 * stream, pause leaders, and reproduce from their printed line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reproduction } from '../../src/sim/batch.js';
import { drawSwarm } from '../../src/sim/swarm.js';
import { NO_SHAPES } from '../../src/sim/swarm-shapes.js';
import { Incarnation, SimClock, SimDisk, SimLinks, SimStorage } from '../../src/sim/twins.js';
import { runSchedule } from '../../src/sim/world.js';
import { host } from './sim-support.js';

test('a stopped incarnation runs nothing until it resumes: then what waited runs in order, and its interval fires once', () => {
  const h = host();
  const life = new Incarnation(1, 1);
  const clock = new SimClock(h, life, () => 10);
  const seen: string[] = [];
  clock.every(10, () => seen.push(`tick@${h.nowMs()}`));
  const links = new SimLinks(life, { send: () => undefined, crashBeforeSend: () => false });
  links.onMessage((m) => seen.push(`message ${(m as unknown as { n: number }).n}@${h.nowMs()}`));
  const disk = new SimDisk();
  const storage = new SimStorage(h, life, disk, {
    writeLatencyMs: () => 5,
    onDurable: () => undefined,
    crashHere: () => false,
  });
  h.runUntil(25);
  assert.deepEqual(seen, ['tick@10', 'tick@20']);
  storage.append(['r1'], () => seen.push(`written@${h.nowMs()}`));
  life.stop();
  clock.defer(() => seen.push(`turn@${h.nowMs()}`));
  h.at(3, () => links.deliver({ n: 1 } as never));
  h.at(4, () => links.deliver({ n: 2 } as never));
  h.runUntil(200);
  assert.deepEqual(seen, ['tick@10', 'tick@20'], 'nothing ran while stopped');
  assert.deepEqual(disk.durable, ['r1'], 'the write in flight reached the disk');
  life.resume(h);
  h.runUntil(225);
  assert.deepEqual(seen, [
    'tick@10',
    'tick@20',
    // In the order each became due while stopped: the turn, the two messages, the tick at 30, the write done at 30.
    'turn@200',
    'message 1@200',
    'message 2@200',
    'tick@200',
    'written@200',
    'tick@210',
    'tick@220',
  ]);
  // A crash while stopped drops what waited.
  life.stop();
  clock.defer(() => seen.push('never'));
  life.alive = false;
  life.resume(h);
  h.runUntil(400);
  assert.ok(!seen.includes('never'));
});

test('pauses are drawn from their own stream: half the seeds have them, and switching them off moves no other draw', () => {
  let on = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const drawn = drawSwarm(seed, 'multi', 0, { drawClusterSize: true });
    if (drawn.faults.includes('pause')) on++;
    const off = drawSwarm(seed, 'multi', 0, {
      drawClusterSize: true,
      fixed: { faults: drawn.faults.filter((k) => k !== 'pause'), shapes: { pausePer100Ms: 0 } },
    });
    assert.deepEqual(
      { ...off, faults: [], shapes: { ...off.shapes, pausePer100Ms: 0 } },
      { ...drawn, faults: [], shapes: { ...drawn.shapes, pausePer100Ms: 0 } },
    );
    assert.ok(drawn.shapes.pauseMaxMs >= drawn.electionTimeoutTicks * 10, 'pauses reach an election timeout');
  }
  assert.ok(on > 60 && on < 140, `${on} of 200 seeds pause`);
  assert.equal(NO_SHAPES.pausePer100Ms, 0, 'seeds recorded before the shapes run without pauses');
});

test('seeds with pauses pause leaders, both ways, pass, and reproduce from their printed line', () => {
  const lines: string[] = [];
  let leaders = 0;
  let seeds = 0;
  for (let seed = 1; seed <= 40 && seeds < 4; seed++) {
    if (!drawSwarm(seed, 'multi', 5, {}).faults.includes('pause')) continue;
    seeds++;
    const trace: string[] = [];
    const result = runSchedule({
      protocol: 'multi',
      clusterSize: 5,
      seed,
      swarm: {},
      traceSink: (line) => trace.push(line),
    });
    assert.ok(result.ok, `${reproduction(result)}: ${result.violation}`);
    const paused = trace.filter((l) => l.includes(' PAUSED ('));
    lines.push(...paused);
    leaders += paused.filter((l) => l.includes(' as leader ')).length;
    const line = reproduction(result);
    for (const flag of ['--pause-rate', '--pause-max-ms', '--pause-leader'])
      assert.ok(line.includes(` ${flag} `), line);
    assert.ok(/--faults \S*pause/.test(line), line);
    assert.ok(result.swarm !== undefined);
    const again = runSchedule({
      protocol: 'multi',
      clusterSize: 5,
      seed,
      swarm: { fixed: { ...result.swarm, profile: { ...result.swarm.profile } } },
    });
    assert.deepEqual(again, result);
  }
  assert.equal(seeds, 4);
  assert.ok(leaders > 0, 'no pause went to a leader');
  assert.ok(lines.some((l) => l.includes('(SIGSTOP)')) && lines.some((l) => l.includes('(frozen)')), lines.join('\n'));
});
