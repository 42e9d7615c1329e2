/**
 * The learner of every key: which keys are chosen (in the order this
 * replica learned them), and anti-entropy, by which a replica that was down
 * or missed a decide learns from its peers a page at a time.
 */
import type { Ballot } from '../ballot.js';
import type { BasicCatchupMsg, BasicDecideMsg, BasicLearnMsg } from '../basic-messages.js';
import { must } from '../must.js';
import type { NodeId } from '../types.js';
import type { BasicContext } from './context.js';

export class BasicLearner {
  /** Insertion order is the order this node learned keys in; peers page through it when catching up. */
  readonly chosen: Map<string, { value: string; ballot: Ballot | null }>;
  readonly chosenOrder: string[] = [];
  /** Keys learned since the log was last compacted; at `snapshotEverySlots` the log is rewritten. */
  learnedSinceCompaction = 0;
  private readonly catchupCursor = new Map<NodeId, number>();

  constructor(
    private readonly ctx: BasicContext,
    recovered: { readonly chosen: Map<string, { value: string; ballot: Ballot | null }> },
  ) {
    this.chosen = recovered.chosen;
    this.chosenOrder.push(...this.chosen.keys());
  }

  onDecide(m: BasicDecideMsg): void {
    this.learn(m.key, m.value, m.ballot);
  }

  /** Learns a chosen value and answers every client waiting on the key. A second, different value is a safety bug. */
  learn(key: string, value: string, ballot: Ballot | null): void {
    const { ctx } = this;
    const known = this.chosen.get(key);
    if (known !== undefined && known.value !== value) {
      throw new Error(`agreement broken at node ${ctx.id}: key ${key} chosen as ${known.value} and ${value}`);
    }
    if (known === undefined) {
      this.chosen.set(key, { value, ballot });
      this.chosenOrder.push(key);
      this.learnedSinceCompaction++;
      // Strict, unlike Multi-Paxos: no leader re-proposes a forgotten key, so if the only learner
      // lost this record nobody would learn the outcome until someone asked (the simulator found it).
      ctx.out.persist.push({ t: 'chosen', key, value, ballot });
      ctx.out.chosen.push({ instance: key, value, valueId: value, ballot });
    }
    ctx.proposer.onChosen(key, value, ballot);
  }

  /** Anti-entropy: replicas that were down or missed a decide learn from a random peer, a page at a time. */
  askPeerForChosen(): void {
    const { ctx } = this;
    const to = ctx.random.pick(ctx.peers);
    const msg: BasicCatchupMsg = { type: 'catchup', from: ctx.id, to, fromIndex: this.catchupCursor.get(to) ?? 0 };
    ctx.out.messages.push(msg);
  }

  onCatchup(m: BasicCatchupMsg): void {
    const { ctx } = this;
    if (m.fromIndex >= this.chosenOrder.length) return;
    const keys = this.chosenOrder.slice(m.fromIndex, m.fromIndex + ctx.cfg.maxBatchEntries);
    const entries = keys.map((key) => {
      const c = must(this.chosen.get(key), `the learned order lists only chosen keys (${key})`);
      return { key, value: c.value, ballot: c.ballot };
    });
    const reply: BasicLearnMsg = {
      type: 'learn',
      from: ctx.id,
      to: m.from,
      entries,
      nextIndex: m.fromIndex + entries.length,
    };
    ctx.out.messages.push(reply);
  }

  onLearn(m: BasicLearnMsg): void {
    const { ctx } = this;
    for (const e of m.entries) this.learn(e.key, e.value, e.ballot);
    this.catchupCursor.set(m.from, Math.max(this.catchupCursor.get(m.from) ?? 0, m.nextIndex));
    if (m.entries.length >= ctx.cfg.maxBatchEntries) {
      ctx.out.messages.push({ type: 'catchup', from: ctx.id, to: m.from, fromIndex: m.nextIndex });
    }
  }
}
