/**
 * `paxos replay`: every recorded incarnation replayed on a fresh core
 * (engine.ts), in node and incarnation order, with the cross-replica checks
 * (checks.ts) watching. The result says whether every Ready was reproduced
 * and every check held, and what was chosen.
 */
import type { NodeId } from '../core/types.js';
import { type CheckReport, ReplayChecks } from './checks.js';
import { type Divergence, type IncarnationReplay, replayIncarnation } from './engine.js';
import type { Recording } from './read.js';

export interface ReplayReport {
  readonly ok: boolean;
  readonly protocol: 'multi' | 'basic';
  readonly replicas: readonly NodeId[];
  readonly incarnations: readonly Omit<IncarnationReplay, 'kv'>[];
  readonly steps: number;
  readonly readies: number;
  readonly divergences: readonly Divergence[];
  readonly checks: CheckReport;
  /** Each replica's replicated map at the end of its last replayed incarnation. */
  readonly state: readonly { node: NodeId; incarnation: number; kv: Record<string, string> }[];
}

export function replayRecordings(recordings: readonly Recording[]): ReplayReport {
  const checks = new ReplayChecks();
  const replayed = recordings.map((rec) => {
    const r = replayIncarnation(rec, checks);
    if (r.divergence !== null) checks.cutShort(r.node);
    return r;
  });
  const report = checks.finish();
  const divergences = replayed.flatMap((r) => (r.divergence === null ? [] : [r.divergence]));
  const last = new Map<NodeId, IncarnationReplay>();
  for (const r of replayed) last.set(r.node, r);
  return {
    ok: divergences.length === 0 && report.violations.length === 0,
    protocol: recordings[0]?.start.protocol ?? 'multi',
    replicas: [...last.keys()],
    incarnations: replayed.map(({ kv: _kv, ...r }) => r),
    steps: replayed.reduce((n, r) => n + r.steps, 0),
    readies: replayed.reduce((n, r) => n + r.readies, 0),
    divergences,
    checks: report,
    state: [...last.values()].map((r) => ({
      node: r.node,
      incarnation: r.incarnation,
      kv: Object.fromEntries([...r.kv].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    })),
  };
}
