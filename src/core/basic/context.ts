/**
 * What the parts of a Basic Paxos replica share: who it is, its
 * configuration, its peers, outbox, clock and random stream, and the other
 * parts. The replica builds one and hands it to each part.
 */
import type { BasicMessage, BasicRecord } from '../basic-messages.js';
import type { ResolvedConfig } from '../config.js';
import type { PeerLiveness } from '../liveness.js';
import type { Outbox } from '../outbox.js';
import type { Random } from '../random.js';
import type { NodeId } from '../types.js';
import type { BasicAcceptor } from './acceptor.js';
import type { BasicLearner } from './learner.js';
import type { Proposer } from './proposer.js';

export interface BasicContext {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  /** Every other replica: each one is an acceptor of every key. */
  readonly peers: readonly NodeId[];
  readonly out: Outbox<BasicMessage, BasicRecord>;
  /** The one seeded stream this replica draws from (backoffs, whom to ask for chosen keys). */
  readonly random: Random;
  readonly liveness: PeerLiveness;
  now(): number;
  readonly acceptor: BasicAcceptor;
  readonly proposer: Proposer;
  readonly learner: BasicLearner;
}
