/**
 * The checks across replicas that a replay makes possible, fed by the
 * replayed cores (engine.ts) rather than by what the run printed:
 *
 * - agreement: no two replicas learn different values for one instance
 *   (a Multi slot within its epoch, as `tracedInstance` names it; a Basic key);
 * - every peer message a replica took as input was handed out by its
 *   sender's replayed core (early or ordinary messages of some Ready); one
 *   taken more often than it was sent is counted, not failed: the simulator
 *   duplicates messages, and so does `paxos duplicate` in step mode;
 * - each later incarnation recovered what the earlier ones asked to write
 *   (persistLazy, then persist, a checkpoint replacing the log and snapshot):
 *   a prefix of it, since a kill may lose the unsynced tail;
 * - every successful client reply names a value some replica learned.
 *
 * The simulator's InvariantChecker checks far more (quorums by definition,
 * promises, epochs), but it needs one global order of events, which a live
 * run's separate logs do not have; these checks only need each replica's order.
 * What a log cut short by a kill cannot prove is counted as unverified, not failed.
 */

import { must } from '../core/must.js';
import type { ChosenValue, ClientSuccess, Input, NodeId, Protocol, Ready } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import { tracedInstance } from '../trace/format.js';
import type { ReplayObserver } from './engine.js';
import type { Recording } from './read.js';

export interface ChosenEntry {
  readonly instance: string;
  readonly value: string;
  readonly nodes: readonly NodeId[];
}

export interface CheckReport {
  readonly violations: readonly string[];
  readonly chosen: readonly ChosenEntry[];
  readonly messagesChecked: number;
  /** Messages whose sender's log was cut short or missing: they may be in the lost tail. */
  readonly messagesUnverified: number;
  /** Deliveries beyond the number of sends of the same message. */
  readonly messagesDuplicated: number;
  readonly recoveriesChecked: number;
  readonly repliesChecked: number;
}

/** Violations kept in full; past this only counted. */
const MAX_VIOLATIONS = 20;

/** Checkpointed states of a replica's disk kept for the next incarnation's recovery check. */
const MAX_DISK_STATES = 8;

interface DiskState {
  snapshot: string | null;
  records: string[];
}

export class ReplayChecks implements ReplayObserver {
  private readonly violations: string[] = [];
  private violationCount = 0;
  private readonly chosen = new Map<string, { value: string; valueId: string; nodes: Set<NodeId> }>();
  /** Per sender: how often each message (as JSON) was handed out. */
  private readonly sent = new Map<NodeId, Map<string, number>>();
  private readonly received: { from: NodeId; to: NodeId; json: string }[] = [];
  private readonly okReplies: { node: NodeId; reply: ClientSuccess }[] = [];
  private protocol: Protocol = 'multi';
  /** Per node: the disk its latest replayed incarnation asked for, one state per checkpoint. */
  private readonly disks = new Map<NodeId, { incarnation: number; complete: boolean; states: DiskState[] }>();
  /** Senders with a log that was cut short or capped: a message of theirs may be in the lost tail. */
  private readonly incomplete = new Set<NodeId>();
  private recoveriesChecked = 0;

  started(rec: Recording): void {
    const { node, incarnation, recovered, snapshot } = rec.start;
    this.protocol = rec.start.protocol;
    if (rec.ending !== 'end') this.incomplete.add(node);
    const before = this.disks.get(node);
    const now = {
      snapshot: snapshot === null ? null : JSON.stringify(snapshot),
      records: recovered.map((r) => JSON.stringify(r)),
    };
    if (before !== undefined && before.incarnation === incarnation - 1)
      this.checkRecovery(node, incarnation, before, now);
    this.disks.set(node, { incarnation, complete: rec.ending === 'end', states: [now] });
  }

  input(node: NodeId, input: Input<PeerMessage>): void {
    if (input.type === 'message')
      this.received.push({ from: input.message.from, to: node, json: JSON.stringify(input.message) });
  }

  ready(node: NodeId, ready: Ready<PeerMessage, unknown>): void {
    const sent = getOrInsert(this.sent, node, () => new Map<string, number>());
    for (const m of [...ready.earlyMessages, ...ready.messages]) {
      const json = JSON.stringify(m);
      sent.set(json, (sent.get(json) ?? 0) + 1);
    }
    this.learn(node, ready.chosen);
    for (const r of ready.replies) if (r.ok) this.okReplies.push({ node, reply: r });
    this.write(node, ready);
  }

  /** A replay that stopped at a divergence: what the node would have sent after it cannot be checked. */
  cutShort(node: NodeId): void {
    this.incomplete.add(node);
  }

  /** Runs the checks that need every replica's replay; call once, after all of them. */
  finish(): CheckReport {
    const messages = this.checkMessages();
    const repliesChecked = this.checkReplies();
    if (this.violationCount > this.violations.length)
      this.violations.push(`… and ${this.violationCount - this.violations.length} more violations`);
    return {
      violations: this.violations,
      chosen: this.chosenEntries(),
      messagesChecked: messages.checked,
      messagesUnverified: messages.unverified,
      messagesDuplicated: messages.duplicated,
      recoveriesChecked: this.recoveriesChecked,
      repliesChecked,
    };
  }

  private fail(text: string): void {
    if (this.violationCount++ < MAX_VIOLATIONS) this.violations.push(text);
  }

  private learn(node: NodeId, chosen: readonly ChosenValue[]): void {
    for (const c of chosen) {
      const instance = tracedInstance(c);
      const known = this.chosen.get(instance);
      if (known === undefined)
        this.chosen.set(instance, { value: c.value, valueId: c.valueId, nodes: new Set([node]) });
      else if (known.valueId !== c.valueId)
        this.fail(
          `agreement: ${nodeName(node)} learned ${c.value} for ${instance}, but ${nodeName([...known.nodes][0])} learned ${known.value}`,
        );
      else known.nodes.add(node);
    }
  }

  /** Appends a Ready's writes to the node's modelled disk, the order the shell writes them in. */
  private write(node: NodeId, ready: Ready<PeerMessage, unknown>): void {
    const disk = this.disks.get(node);
    if (disk === undefined) return;
    const state = must(disk.states.at(-1), 'a disk starts with one state and only drops older ones');
    // The shell writes what was learned chosen first (node/replica.ts): lazy records, then the strict ones.
    for (const r of [...ready.persistLazy, ...ready.persist]) state.records.push(JSON.stringify(r));
    if (ready.checkpoint !== null) {
      disk.states.push({
        snapshot: JSON.stringify(ready.checkpoint.snapshot),
        records: ready.checkpoint.records.map((r) => JSON.stringify(r)),
      });
      // A restart finds the newest checkpoint on disk or, if a kill cut the queue of checkpoints short, one of the few
      // before it; older states cannot come back, so they are dropped to keep a long run's replay small.
      if (disk.states.length > MAX_DISK_STATES) disk.states.shift();
    }
  }

  /**
   * A new incarnation's recovered records must be a prefix of what the one
   * before asked to write since the checkpoint its snapshot came from. More
   * than it asked for is a violation only when its log is whole.
   */
  private checkRecovery(
    node: NodeId,
    incarnation: number,
    before: { complete: boolean; states: DiskState[] },
    now: DiskState,
  ): void {
    this.recoveriesChecked++;
    const who = `${nodeName(node)} incarnation ${incarnation}`;
    const state = [...before.states].reverse().find((s) => s.snapshot === now.snapshot);
    if (state === undefined) {
      if (before.complete)
        this.fail(`recovery: ${who} recovered a snapshot that incarnation ${incarnation - 1} never wrote`);
      return;
    }
    const common = Math.min(state.records.length, now.records.length);
    for (let i = 0; i < common; i++) {
      if (state.records[i] !== now.records[i])
        return this.fail(
          `recovery: ${who} recovered record ${i + 1} as ${now.records[i]}, but incarnation ${incarnation - 1} wrote ${state.records[i]}`,
        );
    }
    if (now.records.length > state.records.length && before.complete) {
      this.fail(
        `recovery: ${who} recovered ${now.records.length} records, but incarnation ${incarnation - 1} asked to write only ${state.records.length}`,
      );
    }
  }

  /** Every received message was sent by its sender's replayed core; deliveries beyond its sends are counted. */
  private checkMessages(): { checked: number; unverified: number; duplicated: number } {
    let unverified = 0;
    let duplicated = 0;
    const taken = new Map<string, number>();
    for (const m of this.received) {
      const key = `${m.from} ${m.json}`;
      const n = (taken.get(key) ?? 0) + 1;
      taken.set(key, n);
      const produced = this.sent.get(m.from)?.get(m.json) ?? 0;
      if (produced >= n) continue;
      if (produced > 0) duplicated++;
      else if (this.incomplete.has(m.from) || !this.sent.has(m.from)) unverified++;
      else
        this.fail(
          `messages: ${nodeName(m.to)} took ${m.json} from ${nodeName(m.from)}, whose replayed core never sent it`,
        );
    }
    return { checked: this.received.length - unverified, unverified, duplicated };
  }

  /** Every successful reply names a value learned somewhere: Multi by its slot, Basic by its key. */
  private checkReplies(): number {
    let checked = 0;
    // Values by slot (or key), whatever their epoch: a reply names its slot, not the epoch that decided it.
    const bySlot = new Map<string, string[]>();
    for (const [instance, c] of this.chosen)
      getOrInsert(bySlot, instance.split('@')[0], () => [] as string[]).push(c.value);
    for (const { node, reply } of this.okReplies) {
      const expected = expectedChosen(this.protocol, reply);
      if (expected === null) continue;
      checked++;
      const found = (bySlot.get(expected.instance) ?? []).some(expected.matches);
      if (!found)
        this.fail(
          `replies: ${nodeName(node)} answered ${reply.op} ${reply.key} ok (${reply.value ?? '-'}${reply.slot !== undefined ? ` in slot ${reply.slot}` : ''}) but no replica learned that value there`,
        );
    }
    return checked;
  }

  private chosenEntries(): ChosenEntry[] {
    const order = (i: string) => i.split('@').map((x) => Number.parseInt(x, 10));
    return [...this.chosen]
      .map(([instance, c]) => ({ instance, value: c.value, nodes: [...c.nodes].sort((a, b) => a - b) }))
      .sort((a, b) => {
        const [sa, ea] = order(a.instance);
        const [sb, eb] = order(b.instance);
        if (Number.isNaN(sa) || Number.isNaN(sb)) return a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0;
        return sa - sb || (ea ?? 0) - (eb ?? 0);
      });
  }
}

/** Which learned value an ok reply stands for; null for replies that name none (reads served without a slot). */
function expectedChosen(
  protocol: Protocol,
  reply: ClientSuccess,
): { instance: string; matches: (value: string) => boolean } | null {
  if (protocol === 'basic') {
    // A Basic reply names its key and the value chosen there; a read of an unchosen key names nothing.
    if (reply.value === null || reply.op === 'config') return null;
    return { instance: reply.key, matches: (v) => v === reply.value };
  }
  if (reply.slot === undefined) return null;
  if (reply.op === 'config') return { instance: String(reply.slot), matches: (v) => v.startsWith('config ') };
  if (reply.op === 'register') return { instance: String(reply.slot), matches: (v) => v === 'register a session' };
  const text = reply.op === 'set' ? `${reply.key}=${reply.value}` : `get ${reply.key}`;
  return { instance: String(reply.slot), matches: (v) => v === text };
}

/** The value under `key`, made and stored first when there is none. */
function getOrInsert<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  map.set(key, made);
  return made;
}
