/**
 * The network fault rules the orchestrator hands to every replica
 * (`paxos partition`, `isolate`, `heal`, `net`): the one copy of the rules in
 * force, checked against the cluster's replicas, then sent to each replica,
 * noted in the trace and told to observers. Each replica applies the rules
 * to its own links (transport/faults.ts); kept apart from the replicas'
 * processes because a fault here changes no process, only what they hear.
 */
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent } from '../node/events.js';
import type { FaultRules } from '../transport/faults.js';
import type { ClusterTrace } from './cluster-trace.js';
import type { ReplicaProcess } from './replica-process.js';

/** What the fault rules need of the orchestrator: its replicas, its trace, and its observers. */
export interface FaultsHost {
  readonly replicas: ReadonlyMap<NodeId, ReplicaProcess>;
  /** The replica with this id, or the orchestrator's sentence for why there is none. */
  replica(id: NodeId): ReplicaProcess;
  /** The run's trace while there is one (it is gone once the cluster stopped). */
  trace(): ClusterTrace | null;
  emit(e: ClusterEvent): void;
}

export class NetworkFaults {
  private rules: FaultRules = {};

  constructor(private readonly host: FaultsHost) {}

  /** The network fault rules in force, as every replica has been told them. */
  get faults(): FaultRules {
    return this.rules;
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    const seen = new Set<NodeId>();
    for (const g of groups)
      for (const id of g) {
        this.host.replica(id);
        if (seen.has(id)) throw new OperatingError(`${nodeName(id)} appears in two groups`);
        seen.add(id);
      }
    const rest = [...this.host.replicas.keys()].filter((id) => !seen.has(id));
    this.setFaults({ ...this.faults, partition: [...groups.map((g) => [...g]), ...(rest.length > 0 ? [rest] : [])] });
  }

  isolate(id: NodeId): void {
    this.host.replica(id);
    this.partition([[id]]);
  }

  heal(): void {
    const { partition: _cut, ...rest } = this.faults;
    this.setFaults(rest);
  }

  setNet(net: { delayMs?: { min: number; max: number } | null; dropRate?: number }): void {
    const next: { partition?: number[][]; delayMs?: { min: number; max: number }; dropRate?: number } = {};
    if (this.faults.partition) next.partition = this.faults.partition.map((g) => [...g]);
    const delay = net.delayMs === undefined ? this.faults.delayMs : net.delayMs;
    if (delay) next.delayMs = delay;
    const drop = net.dropRate ?? this.faults.dropRate;
    if (drop) next.dropRate = drop;
    this.setFaults(next);
  }

  private setFaults(rules: FaultRules): void {
    this.host.trace()?.faultsChanged(this.faults, rules);
    this.rules = rules;
    for (const r of this.host.replicas.values()) void r.link?.request('faults', { rules }, 2000).catch(() => undefined);
    this.host.emit({
      type: 'faults',
      partition: rules.partition ?? null,
      delayMs: rules.delayMs ?? null,
      dropRate: rules.dropRate ?? 0,
      atMs: Date.now(),
    });
  }
}
