/**
 * Basic Paxos as a pure state machine: every key is its own single-decree
 * instance and every replica is proposer, acceptor and learner (as in the 003
 * article). Once a key is chosen it never changes; a later proposal for it
 * learns and reports the chosen value. Rejected rounds retry with a higher
 * ballot after a randomized backoff, so duelling proposers do not livelock.
 *
 * This class routes inputs to the part whose job they are, and compacts the
 * log. The parts: proposer.ts (rounds, proposals, backoff, client replies),
 * acceptor.ts (promises and votes per key), learner.ts (chosen keys and
 * anti-entropy), durable.ts (recovery and compaction records). Basic Paxos
 * has no role to change: every replica plays all three at once.
 */
import type { Ballot } from '../ballot.js';
import type { BasicMessage, BasicRecord } from '../basic-messages.js';
import { peersOf, type ResolvedConfig, resolveConfig } from '../config.js';
import { PeerLiveness } from '../liveness.js';
import { Outbox } from '../outbox.js';
import { Random } from '../random.js';
import type { CoreConfig, Input, NodeId, NodeView, ProtocolCore, Ready } from '../types.js';
import { BasicAcceptor } from './acceptor.js';
import type { BasicContext } from './context.js';
import { type Accepted, type BasicDurableState, compactedRecords, emptyBasicState } from './durable.js';
import { BasicLearner } from './learner.js';
import { Proposer } from './proposer.js';

export { BASIC_NO_MEMBERSHIP } from './proposer.js';

export class BasicPaxos implements ProtocolCore<BasicMessage, BasicRecord> {
  readonly id: NodeId;
  private readonly cfg: ResolvedConfig;
  private readonly peers: readonly NodeId[];
  private readonly out = new Outbox<BasicMessage, BasicRecord>();
  private nowTick = 0;
  private readonly liveness: PeerLiveness;
  private readonly acceptor: BasicAcceptor;
  private readonly proposer: Proposer;
  private readonly learner: BasicLearner;

  constructor(config: CoreConfig, recovered: BasicDurableState = emptyBasicState()) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.peers = peersOf(this.cfg);
    this.liveness = new PeerLiveness(this.peers, this.cfg.electionTimeoutTicks);
    const ctx = this.context(new Random(this.cfg.randomSeed));
    this.acceptor = new BasicAcceptor(ctx, recovered);
    this.proposer = new Proposer(ctx, recovered);
    this.learner = new BasicLearner(ctx, recovered);
  }

  step(input: Input<BasicMessage>): void {
    switch (input.type) {
      case 'tick':
        return this.tick();
      case 'request':
        return this.proposer.onRequest(input.request);
      case 'message':
        return this.onMessage(input.message);
      case 'persisted':
        return; // Basic Paxos never asks for it: its proposer waits for its own acceptor like any other.
    }
  }

  ready(): Ready<BasicMessage, BasicRecord> {
    if (this.learner.learnedSinceCompaction >= this.cfg.snapshotEverySlots) this.compact();
    return this.out.take();
  }

  /**
   * Rewrites the log to what the state needs: the round, each open key's
   * promise and accepted value, each chosen key's value. Read after every
   * step of this Ready, so none of its records is left out. Basic Paxos has
   * no separate snapshot: its chosen records are the state.
   */
  private compact(): void {
    const { acceptor, learner } = this;
    learner.learnedSinceCompaction = 0;
    acceptor.forgetChosen(learner.chosen.keys());
    const records = compactedRecords({
      round: this.proposer.round,
      promisedAtLeast: acceptor.promisedAtLeast,
      promised: acceptor.promised,
      accepted: acceptor.accepted,
      chosen: learner.chosen,
      chosenOrder: learner.chosenOrder,
    });
    this.out.checkpoint = { snapshot: [], records };
    this.out.events.push({
      type: 'note',
      text: `log compacted: ${learner.chosen.size} chosen keys, ${acceptor.promised.size} open`,
    });
  }

  private onMessage(m: BasicMessage): void {
    if (m.to !== this.id || m.from === this.id)
      throw new Error(`node ${this.id} was handed a message for ${m.to} from ${m.from}`);
    this.liveness.heard(m.from, this.nowTick);
    switch (m.type) {
      case 'prepare':
        return this.acceptor.onPrepare(m);
      case 'promise':
        return this.proposer.onPromise(m);
      case 'accept':
        return this.acceptor.onAccept(m);
      case 'accepted':
        return this.proposer.onAccepted(m);
      case 'reject':
        return this.proposer.onReject(m);
      case 'decide':
        return this.learner.onDecide(m);
      case 'catchup':
        return this.learner.onCatchup(m);
      case 'learn':
        return this.learner.onLearn(m);
    }
  }

  private tick(): void {
    this.nowTick++;
    this.proposer.tick();
    if (this.nowTick % (2 * this.cfg.heartbeatTicks) === 0 && this.peers.length > 0) this.learner.askPeerForChosen();
  }

  /** What every part shares: the parts themselves, the outbox, the clock and the one random stream. */
  private context(random: Random): BasicContext {
    const self = this;
    return {
      id: this.id,
      cfg: this.cfg,
      peers: this.peers,
      out: this.out,
      random,
      liveness: this.liveness,
      now: () => this.nowTick,
      get acceptor() {
        return self.acceptor;
      },
      get proposer() {
        return self.proposer;
      },
      get learner() {
        return self.learner;
      },
    };
  }

  // ------------------------------------------------------------ inspection

  view(): NodeView {
    const promised = this.acceptor.highestPromised;
    const active = this.proposer.isActive();
    const { lastAccepted } = this.acceptor;
    return {
      id: this.id,
      protocol: 'basic',
      role: active ? 'proposer' : 'acceptor',
      leader: null,
      promised,
      lastAccepted: lastAccepted
        ? { instance: lastAccepted.key, ballot: lastAccepted.ballot, value: lastAccepted.value }
        : null,
      chosenCount: this.learner.chosen.size,
    };
  }

  inspect(): {
    readonly round: number;
    readonly promised: ReadonlyMap<string, Ballot>;
    readonly accepted: ReadonlyMap<string, Accepted>;
    readonly chosen: ReadonlyMap<string, { value: string; ballot: Ballot | null }>;
    readonly openProposals: number;
  } {
    return {
      round: this.proposer.round,
      promised: this.acceptor.promised,
      accepted: this.acceptor.accepted,
      chosen: this.learner.chosen,
      openProposals: this.proposer.size,
    };
  }
}
