/**
 * What `paxos check` concludes from a run: linearizability of the client
 * history (per key, with a time budget; giving up is "unknown", never a
 * pass), agreement between the real replicas' chosen logs, durability of
 * every acknowledged write, and availability and latency per period.
 */
import { percentile } from '../bench/load.js';
import { must } from '../core/must.js';
import { nodeName } from '../core/types.js';
import { checkKvHistory, registerModel, writeOnceModel } from '../linearizability/checker.js';
import { type CompletedOp, type CompletionEvent, toOperations } from './history.js';
import type { ScheduledFault } from './nemesis.js';

/** One replica's chosen log: slot (Multi) or key (Basic) → value identity, and its text. */
export type ChosenLog = Map<string, { id: string; text: string }>;

export interface LinearizabilityVerdict {
  readonly ok: boolean | 'unknown';
  readonly reason?: string;
  readonly violatingKeys: readonly string[];
  readonly undecidedKeys: readonly string[];
  /** The operations that show a violation (the last ones the search could order and the one it could not), to highlight in the timeline. */
  readonly suspects: ReadonlySet<CompletedOp>;
}

export function checkLinearizability(o: {
  protocol: 'multi' | 'basic';
  ops: readonly CompletedOp[];
  deadlineMs: number;
}): LinearizabilityVerdict {
  const model = o.protocol === 'multi' ? registerModel : writeOnceModel;
  const operations = toOperations(o.ops);
  const result = checkKvHistory(model, operations, { deadlineMs: o.deadlineMs });
  // The checker names the operations that show a violation by identity; map them back to the recorded ones.
  const kept = o.ops.filter((x) => x.completion?.type !== 'fail'); // toOperations keeps these, in this order
  const recorded = new Map(operations.map((op, i) => [op as unknown, kept[i]]));
  const suspects = new Set<CompletedOp>();
  for (const k of result.keys)
    for (const w of k.witness ?? []) {
      const op = recorded.get(w);
      if (op !== undefined) suspects.add(op);
    }
  return {
    ok: result.ok,
    ...(result.ok !== true ? { reason: result.reason } : {}),
    violatingKeys: result.violatingKeys,
    undecidedKeys: result.undecidedKeys,
    suspects,
  };
}

/** An operation that was answered; the filters below narrow to it so its completion is read without a check. */
type AnsweredOp = CompletedOp & { readonly completion: CompletionEvent };

function succeeded(op: CompletedOp): op is AnsweredOp {
  return op.completion?.type === 'ok';
}

export interface AgreementVerdict {
  readonly ok: boolean;
  readonly conflicts: readonly string[];
  /** Whether every replica learned the same set of instances (liveness, not safety). */
  readonly converged: boolean;
  readonly chosenPerReplica: Record<string, number>;
}

/**
 * Every instance chosen at two replicas has the same value at both. Slots a
 * replica compacted into its snapshot (`compacted`, Multi) are not in its log:
 * they count as learned, and the simulator checks that snapshots are right.
 */
export function checkAgreement(
  logs: ReadonlyMap<number, ChosenLog>,
  compacted: ReadonlyMap<number, number> = new Map(),
): AgreementVerdict {
  const conflicts: string[] = [];
  const first = new Map<string, { node: number; id: string; text: string }>();
  for (const [node, log] of logs) {
    for (const [instance, v] of log) {
      const seen = first.get(instance);
      if (seen === undefined) first.set(instance, { node, ...v });
      else if (seen.id !== v.id && conflicts.length < 20)
        conflicts.push(`${instance}: ${nodeName(seen.node)} chose ${seen.text}, ${nodeName(node)} chose ${v.text}`);
    }
  }
  const learned = (node: number, l: ChosenLog) => l.size + (compacted.get(node) ?? 0);
  const sizes = [...logs].map(([node, l]) => learned(node, l));
  const chosenPerReplica = Object.fromEntries([...logs].map(([node, l]) => [nodeName(node), learned(node, l)]));
  return { ok: conflicts.length === 0, conflicts, converged: sizes.every((n) => n === sizes[0]), chosenPerReplica };
}

export interface IdentityVerdict {
  readonly ok: boolean;
  readonly reused: readonly string[];
}

/**
 * No replica may reuse a command identity: the clients of a check never
 * do, so a refusal for a reused identity means a replica numbered a new
 * command like an old one (the first wave's restart bug). The session table
 * refuses it rather than losing a write, but the replica is still wrong.
 */
export function checkIdentities(ops: readonly CompletedOp[]): IdentityVerdict {
  const reused = ops
    .filter((op): op is AnsweredOp => op.completion?.code === 'identity-reused')
    .slice(0, 20)
    .map(
      (op) =>
        `client ${op.invoke.process}'s ${op.invoke.op} ${op.invoke.key} via ${nodeName(op.invoke.node)}: ${op.completion.error ?? ''}`,
    );
  return { ok: reused.length === 0, reused };
}

export interface RefusalVerdict {
  readonly ok: boolean;
  /** Writes a replica answered `refused` (known not chosen), the ones never sent included. */
  readonly refused: number;
  /** Refused writes whose value some replica has chosen all the same. */
  readonly chosen: readonly string[];
  /** Those operations, to highlight in the timeline. */
  readonly suspects: ReadonlySet<CompletedOp>;
}

/**
 * `refused` promises the value was not chosen and never will be: no replica's
 * chosen state may hold the value of a write answered so (values are unique
 * to their write). Multi-Paxos slots a replica compacted into its snapshot
 * are not in its log and are not looked at; the other replicas' logs usually
 * still hold them.
 */
export function checkRefusedNeverChosen(o: {
  protocol: 'multi' | 'basic';
  ops: readonly CompletedOp[];
  logs: ReadonlyMap<number, ChosenLog>;
}): RefusalVerdict {
  const refused = o.ops.filter((op) => op.invoke.op === 'set' && op.completion?.type === 'fail');
  const texts = new Map<number, Set<string>>();
  for (const [node, log] of o.logs) texts.set(node, new Set([...log.values()].map((v) => v.text)));
  const chosen: string[] = [];
  const suspects = new Set<CompletedOp>();
  for (const op of refused) {
    const { key, value } = op.invoke;
    for (const [node, log] of o.logs) {
      const found =
        o.protocol === 'multi' ? (texts.get(node)?.has(`${key}=${value}`) ?? false) : log.get(key)?.id === value;
      if (!found) continue;
      suspects.add(op);
      if (chosen.length < 20)
        chosen.push(
          `${nodeName(node)} chose ${key}=${value}, which client ${op.invoke.process} was told was refused (${op.completion?.code ?? '?'}: ${op.completion?.error ?? ''})`,
        );
      break;
    }
  }
  return { ok: suspects.size === 0, refused: refused.length, chosen, suspects };
}

export interface DurabilityVerdict {
  readonly ok: boolean;
  readonly acknowledged: number;
  /** Acknowledged writes found, on some replica, inside its snapshot rather than its log (by the slot the client was told). */
  readonly inSnapshots: number;
  readonly missing: readonly string[];
}

/**
 * Every write a client was told ok about is in every replica's chosen state
 * at the end: Multi by the command in the log, Basic by the key's chosen
 * value being the one the client was told.
 */
export function checkDurability(o: {
  protocol: 'multi' | 'basic';
  ops: readonly CompletedOp[];
  logs: ReadonlyMap<number, ChosenLog>;
  compacted?: ReadonlyMap<number, number>;
}): DurabilityVerdict {
  const acked = o.ops.filter(succeeded).filter((op) => op.invoke.op === 'set');
  const missing: string[] = [];
  const inSnapshots = new Set<CompletedOp>();
  for (const [node, log] of o.logs) {
    // Written values are unique to their write, so a Multi-Paxos command is found by its text.
    const texts = new Set([...log.values()].map((v) => v.text));
    const compactedThrough = o.compacted?.get(node) ?? 0;
    for (const op of acked) {
      const slot = op.completion.slot;
      if (o.protocol === 'multi' && slot !== undefined && slot <= compactedThrough) {
        inSnapshots.add(op);
        continue;
      }
      const present =
        o.protocol === 'multi'
          ? texts.has(`${op.invoke.key}=${op.invoke.value}`)
          : log.get(op.invoke.key)?.id === op.completion.value;
      if (!present && missing.length < 20)
        missing.push(
          `${nodeName(node)} lacks ${op.invoke.key}=${op.invoke.value} (acknowledged to client ${op.invoke.process} at ${Math.round(op.completion.timeMs)} ms)`,
        );
    }
  }
  return { ok: missing.length === 0, acknowledged: acked.length, inSnapshots: inSnapshots.size, missing };
}

export interface Availability {
  readonly overall: number;
  readonly calm: number | null;
  readonly byFault: Record<string, number>;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | null;
}

/** The share of operations that succeeded, over the whole run, in calm periods and under each kind of fault. */
export function availability(ops: readonly CompletedOp[], schedule: readonly ScheduledFault[]): Availability {
  const share = (list: readonly CompletedOp[]) =>
    list.length === 0 ? null : round3(list.filter((op) => op.completion?.type === 'ok').length / list.length);
  const faultAt = (t: number) => schedule.find((f) => t >= f.startMs && t < f.endMs);
  const byKind = new Map<string, CompletedOp[]>();
  const calm: CompletedOp[] = [];
  for (const op of ops) {
    const f = faultAt(op.invoke.timeMs);
    if (f === undefined) {
      calm.push(op);
      continue;
    }
    const list = byKind.get(f.fault.kind);
    if (list === undefined) byKind.set(f.fault.kind, [op]);
    else list.push(op);
  }
  const byFault: Record<string, number> = {};
  for (const [kind, list] of byKind)
    byFault[kind] = must(share(list), 'a fault kind is listed with its first operation');
  const latencies = Float64Array.from(
    ops.filter(succeeded).map((op) => op.completion.timeMs - op.invoke.timeMs),
  ).sort();
  return {
    overall: share(ops) ?? 0,
    calm: share(calm),
    byFault,
    latencyMs:
      latencies.length === 0
        ? null
        : {
            p50: round3(percentile(latencies, 0.5)),
            p95: round3(percentile(latencies, 0.95)),
            p99: round3(percentile(latencies, 0.99)),
            max: round3(percentile(latencies, 1)),
          },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
