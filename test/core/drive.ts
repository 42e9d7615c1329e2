/**
 * Driving one real Multi-Paxos core by hand in unit tests: inputs in, the
 * Ready out, nothing faked around it.
 */
import type { Membership } from '../../src/core/membership.js';
import type { LogValue, MultiMessage, MultiRecord } from '../../src/core/multi/messages.js';
import type { MultiPaxos } from '../../src/core/multi/replica.js';
import type { Input, Ready } from '../../src/core/types.js';

export type MultiReady = Ready<MultiMessage, MultiRecord>;

/** Steps `core` with `input` and returns the Ready it produced. */
export function stepReady(core: MultiPaxos, input: Input<MultiMessage>): MultiReady {
  core.step(input);
  return core.ready();
}

/** Every message of a Ready, early ones (a leader's accepts) first, as the runtime sends them. */
export function sent(ready: MultiReady): MultiMessage[] {
  return [...ready.earlyMessages, ...ready.messages];
}

/** Ticks `core` until `until` holds for a Ready (or `maxTicks` pass); returns that Ready and the tick it came on. */
export function tickUntil(
  core: MultiPaxos,
  until: (ready: MultiReady) => boolean,
  maxTicks: number,
): { ready: MultiReady; tick: number } {
  for (let tick = 1; tick <= maxTicks; tick++) {
    const ready = stepReady(core, { type: 'tick' });
    if (until(ready)) return { ready, tick };
  }
  throw new Error(`nothing matched within ${maxTicks} ticks`);
}

/** The administrator's first change, as chosen in a log: epoch `fromEpoch` to `voters`. */
export function adminChange(fromEpoch: number, voters: readonly number[]): LogValue {
  return {
    kind: 'cmd',
    id: 'admin:1',
    identity: { session: 'admin', seq: 1 },
    base: 1,
    origin: 1,
    command: { op: 'config', fromEpoch, voters: [...voters] },
  };
}

/** A snapshot through `slot` holding x=1, as `from` streams it to `to`: its head, then one part of keys. */
export function oneKeySnapshot(o: { from: number; to: number; slot: number; membership: Membership }): MultiMessage[] {
  const { from, to, slot, membership } = o;
  return [
    {
      type: 'snapshot',
      from,
      to,
      slot,
      index: 0,
      part: { t: 'snapshot', slot, parts: 2, kvCount: 1, sessionCount: 0, appliedCount: 0, membership },
    },
    { type: 'snapshot', from, to, slot, index: 1, part: { t: 'kv', entries: [['x', '1']] } },
  ];
}
