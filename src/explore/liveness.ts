/**
 * "Nothing stuck", within a bound: from a reached state, once faults stop
 * (every replica restarted, nothing dropped any more), a fair schedule
 * (the oldest message in flight delivered, or every replica ticked once when
 * none is) must answer a new client request ok and bring every replica to
 * the values chosen anywhere, as the simulator's liveness phase asks after
 * its heal. One fair schedule is tried, not all: a state it leaves stuck is
 * reported with the schedule's length, and may be escaped by another.
 */

import { nodeName } from '../core/types.js';
import { messageKind } from '../scenario/lines.js';
import type { ExploreWorld } from './world.js';

/** Deliveries and ticks the fair schedule makes at most: far above the few dozen a 3-replica decision needs. */
export const LIVENESS_MOVES = 2000;

/** Null when the fair schedule decides; otherwise what was still missing after it. Runs on (and changes) `world`. */
export function stuckAfterFaults(world: ExploreWorld, maxMoves = LIVENESS_MOVES): string | null {
  for (const n of world.cluster.inspect().nodes) if (n.replica === null) world.run(`restart ${n.id}`);
  const asked = world.checks.requests.length;
  world.run('propose 1 x=after-faults');
  const request = world.checks.requests[asked];
  for (let moves = 0; moves < maxMoves; moves++) {
    if (request?.outcome === 'ok' && converged(world)) return null;
    const first = world.cluster.inspect().pool[0];
    if (first === undefined) world.run('tick all 1');
    else world.run(`deliver ${first.from} ${first.to} ${messageKind(first)}`);
  }
  const counts = world.cluster
    .inspect()
    .nodes.map((n) => `${nodeName(n.id)}:${n.replica?.inspectCore().view().chosenCount ?? 'down'}`)
    .join(' ');
  return (
    `nothing stuck: after every replica restarted, ${maxMoves} fair deliveries and ticks ` +
    `left a new request ${request?.outcome ?? 'unanswered'}; ` +
    `chosen ${world.checks.checker.chosen.size} in all, learned per replica ${counts}`
  );
}

/** Every replica has learned the same values, at least every one seen chosen (the simulator's `converged`). */
function converged(world: ExploreWorld): boolean {
  const want = world.checks.checker.liveChosenCount();
  const views = world.cluster.inspect().nodes.map((n) => n.replica?.inspectCore().view() ?? null);
  const first = views[0];
  if (first == null) return false;
  return views.every(
    (v) =>
      v != null && v.chosenCount === first.chosenCount && v.commitIndex === first.commitIndex && v.chosenCount >= want,
  );
}
