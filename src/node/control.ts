/**
 * The control API of one replica: what the CLI and the orchestrator may ask
 * it. Requests come from the network, so each is validated before use; a bad
 * one gets one clear sentence back, never a crash.
 */
import type { ClientReply, Command } from '../core/types.js';
import { isKey, isValue, MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../core/validate.js';
import type { FaultRules } from '../transport/faults.js';
import type { ReplicaEvent } from './events.js';
import type { Replica } from './replica.js';

export type ControlRequest =
  | { readonly op: 'propose'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'status' }
  /** The key-value state as this replica has applied it (multi) or learned it (basic), for checking convergence. */
  | { readonly op: 'kv' }
  | { readonly op: 'faults'; readonly rules: FaultRules }
  | { readonly op: 'peers'; readonly peers: Record<string, { host: string; port: number }> }
  | { readonly op: 'subscribe' };

export class ControlError extends Error {}

/** A kv dump is for inspection, not bulk export: bounded so one answer stays one reasonable frame. */
const KV_DUMP_LIMIT = 10_000;

type Obj = Record<string, unknown>;

export function parseControlRequest(x: unknown): ControlRequest {
  if (typeof x !== 'object' || x === null) throw new ControlError('a request must be a JSON object');
  const r = x as Obj;
  switch (r.op) {
    case 'propose':
      if (!isKey(r.key)) throw new ControlError(`a key must be 1 to ${MAX_KEY_BYTES} bytes`);
      if (!isValue(r.value)) throw new ControlError(`a value must be at most ${MAX_VALUE_BYTES} bytes`);
      return { op: 'propose', key: r.key, value: r.value };
    case 'get':
      if (!isKey(r.key)) throw new ControlError(`a key must be 1 to ${MAX_KEY_BYTES} bytes`);
      return { op: 'get', key: r.key };
    case 'status':
    case 'subscribe':
    case 'kv':
      return { op: r.op };
    case 'faults':
      return { op: 'faults', rules: parseRules(r.rules) };
    case 'peers':
      return { op: 'peers', peers: parsePeers(r.peers) };
    default:
      throw new ControlError(`unknown request "${String(r.op)}"`);
  }
}

function parseRules(x: unknown): FaultRules {
  if (typeof x !== 'object' || x === null) throw new ControlError('fault rules must be an object');
  const r = x as Obj;
  const rules: { partition?: number[][]; delayMs?: { min: number; max: number }; dropRate?: number } = {};
  if (r.partition !== undefined && r.partition !== null) {
    if (!Array.isArray(r.partition) || !r.partition.every((g) => Array.isArray(g) && g.every((n) => Number.isInteger(n)))) {
      throw new ControlError('partition must be a list of lists of node ids');
    }
    rules.partition = r.partition as number[][];
  }
  if (r.delayMs !== undefined && r.delayMs !== null) {
    const d = r.delayMs as Obj;
    if (typeof d.min !== 'number' || typeof d.max !== 'number' || d.min < 0 || d.max < d.min) throw new ControlError('delay must be {min, max} milliseconds');
    rules.delayMs = { min: d.min, max: d.max };
  }
  if (r.dropRate !== undefined) {
    if (typeof r.dropRate !== 'number' || r.dropRate < 0 || r.dropRate > 1) throw new ControlError('drop rate must be between 0 and 1');
    rules.dropRate = r.dropRate;
  }
  return rules;
}

function parsePeers(x: unknown): Record<string, { host: string; port: number }> {
  if (typeof x !== 'object' || x === null) throw new ControlError('peers must be an object');
  for (const v of Object.values(x as Obj)) {
    const p = v as Obj;
    if (typeof p?.host !== 'string' || !Number.isInteger(p.port)) throw new ControlError('each peer needs a host and a port');
  }
  return x as Record<string, { host: string; port: number }>;
}

export interface ControlContext {
  readonly replica: Replica;
  readonly setFaults: (rules: FaultRules) => void;
  readonly setPeers: (peers: Map<number, { host: string; port: number }>) => void;
  readonly push: (event: ReplicaEvent) => void;
  readonly onClose: (cleanup: () => void) => void;
}

/** Answers one control request; client command replies carry the measured latency. */
export async function handleControl(ctx: ControlContext, raw: unknown): Promise<unknown> {
  const req = parseControlRequest(raw);
  switch (req.op) {
    case 'propose':
    case 'get':
      return runCommand(ctx, req.op === 'propose' ? { op: 'set', key: req.key, value: req.value } : { op: 'get', key: req.key });
    case 'status':
      return { status: ctx.replica.status() };
    case 'kv': {
      const all = [...ctx.replica.kvSnapshot()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { count: all.length, entries: all.slice(0, KV_DUMP_LIMIT), truncated: all.length > KV_DUMP_LIMIT };
    }
    case 'faults':
      ctx.setFaults(req.rules);
      return { ok: true };
    case 'peers':
      ctx.setPeers(new Map(Object.entries(req.peers).map(([id, p]) => [Number(id), p])));
      return { ok: true };
    case 'subscribe':
      ctx.onClose(ctx.replica.subscribe(ctx.push));
      return { ok: true, status: ctx.replica.status() };
  }
}

async function runCommand(ctx: ControlContext, command: Command): Promise<ClientReply & { latencyMs: number }> {
  const started = performance.now();
  const reply = await ctx.replica.request(command);
  return { ...reply, latencyMs: performance.now() - started };
}
