/**
 * The bugs the test suite plants to prove the checkers can fail, by name, so
 * `paxos sim --plant NAME` can show a class how each one is caught.
 */
import type { PlantedBugs } from '../core/types.js';
import type { SimBugs } from './world.js';

export interface Plant {
  readonly name: string;
  readonly what: string;
  readonly bugs?: PlantedBugs;
  readonly simBugs?: SimBugs;
  readonly multiOnly?: boolean;
}

export const PLANTS: readonly Plant[] = [
  { name: 'forget-promise', what: 'an acceptor that forgets its promise on restart', simBugs: { forgetPromiseOnRestart: true } },
  { name: 'accept-below-promise', what: 'accept with ballot < promised', bugs: { acceptBelowPromised: true } },
  { name: 'ignore-accepted', what: 'a proposer that ignores previously accepted values', bugs: { ignoreAcceptedValues: true } },
  { name: 'quorum-of-live', what: 'a majority counted over live replicas', bugs: { quorumOfLive: true } },
  { name: 'quorum-minus-one', what: 'a quorum of majority - 1', bugs: { quorumMinusOne: true } },
  { name: 'reuse-ballot', what: 'a ballot reused after restart', bugs: { reuseBallotAfterRestart: true } },
  { name: 'reply-before-persist', what: 'an acceptor that replies before its state is persisted', simBugs: { replyBeforePersist: true } },
  { name: 'stale-reads', what: "reads answered from a replica's own copy, outside consensus", bugs: { staleLocalReads: true }, multiOnly: true },
];

export function plantNamed(name: string): Plant | undefined {
  return PLANTS.find((p) => p.name === name);
}
