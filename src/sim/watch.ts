/**
 * What the checkers and the trace see of each replica: every Ready as its
 * core hands it out, every write as it becomes durable, every value as its
 * Ready is released. Core events are told apart by their type, never by
 * their sentences; the sentences only go into the failure trace.
 */
import { DEFAULTS } from '../core/config.js';
import { coreEventSentence } from '../core/describe.js';
import type { MultiRecord } from '../core/multi/messages.js';
import { isSnapshotHead } from '../core/multi/snapshot-parts.js';
import type { CoreEvent, NodeId, Ready } from '../core/types.js';
import { nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import { type SimCore, touchedInstances } from './adapter.js';
import type { World } from './events.js';
import { InvariantViolation } from './invariants.js';
import { SnapshotChecker } from './snapshot-check.js';

export class ReplicaWatch<M extends PeerMessage> {
  /** Multi: the checker of snapshots against the chosen log (the network checks installed ones too). */
  readonly snapshots: SnapshotChecker | null;
  /** Log compactions (Multi: each with a snapshot) and snapshots installed from a peer. */
  readonly snapshotCounts = { taken: 0, installed: 0 };

  constructor(private readonly world: World<M>) {
    const { opts } = world;
    this.snapshots =
      opts.protocol === 'multi'
        ? new SnapshotChecker(world.checker.liveChosen(), {
            horizonSlots: opts.sessionHorizonSlots ?? DEFAULTS.sessionHorizonSlots,
            maxSessions: opts.maxSessions ?? DEFAULTS.maxSessions,
          })
        : null;
  }

  onDurable(node: NodeId, records: readonly unknown[]): void {
    this.world.tracer?.durable(node, records);
    this.world.checker.onDurable(node, records);
    if (this.snapshots === null) return;
    for (const r of records) {
      const a = r as MultiRecord;
      if (a.t === 'accept') this.snapshots.onDurableAccept(node, a.ballot, a.entries);
      if (a.t === 'epoch') this.snapshots.onDurableEpoch(node, a.membership.epoch, a.membership.startSlot);
    }
  }

  /** A checkpoint's snapshot reached the disk: one installed across a stop-sign is the durable record of its epoch. */
  onSnapshotDurable(node: NodeId, parts: readonly unknown[]): void {
    const head = parts[0];
    // Only the head says which epoch the snapshot opens; joining every part of every compaction would be wasted work.
    if (this.snapshots === null || !isSnapshotHead(head)) return;
    this.snapshots.onDurableSnapshot(node, head.membership.epoch, head.membership.startSlot);
  }

  /** Every Ready as the core hands it out: the proposer's phases, what it learned, and its state after the step. */
  onReady(node: NodeId, core: SimCore<M>, ready: Ready<M, unknown>): void {
    const { world } = this;
    this.traceEvents(node, ready.events);
    // Events first: a snapshot taken just after a stop-sign names the epoch this Ready's event reports entering.
    world.checker.onEvents(node, core, ready.events);
    if (ready.checkpoint !== null) {
      this.snapshotCounts.taken++;
      this.snapshots?.checkSnapshot(node, ready.checkpoint.snapshot);
    }
    world.checker.afterStep(node, core, touchedInstances(world.opts.protocol, world.adapter, ready));
  }

  /** What a node has learned counts from the moment it can tell anyone: when its Ready is released. */
  onRelease(node: NodeId, ready: Ready<PeerMessage, unknown>): void {
    // Recorded before the checks, so a trace that ends in a violation shows the value that caused it.
    if (ready.chosen.length > 0) this.world.tracer?.released(node, ready.chosen);
    this.world.checker.onReleasedEvents(node, ready.events);
    this.world.checker.onChosen(node, ready.chosen);
  }

  private traceEvents(node: NodeId, events: readonly CoreEvent[]): void {
    const { world } = this;
    for (const e of events) {
      if (e.type === 'phase1')
        world.noteAndTrace(
          `${nodeName(node)} phase 1 at ${e.ballot.round}.${e.ballot.node}${e.instance ? ` for ${e.instance}` : ''}`,
        );
      else if (e.type === 'leader')
        world.noteAndTrace(`${nodeName(node)} became leader at ${e.ballot.round}.${e.ballot.node}`);
      else if (e.type === 'phase2')
        world.note(
          `${nodeName(node)} phase 2 ${e.instance}=${e.value} at ${e.ballot.round}.${e.ballot.node} (quorum ${e.quorum.join(',')}${e.adopted ? ', adopted' : ''})`,
        );
      else if (e.type === 'snapshot-installed') {
        this.snapshotCounts.installed++;
        world.note(`${nodeName(node)} ${coreEventSentence(e)}`);
      } else if (e.type === 'identity-reused' && world.admin.reusedIdentity(e.id)) world.admin.afterRefusedChange(node);
      else if (e.type === 'identity-reused' && world.swarm?.reuseIdentities !== true)
        throw new InvariantViolation(`${nodeName(node)}: ${coreEventSentence(e)} (simulated clients never reuse one)`);
    }
  }
}
