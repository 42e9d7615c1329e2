/**
 * The control API of one replica: what the CLI and the orchestrator may ask
 * it. Requests come from the network, so each is validated before use; a bad
 * one gets one clear sentence back, never a crash.
 */

import { BASIC_NO_MEMBERSHIP } from '../core/basic/replica.js';
import { votersProblem } from '../core/membership.js';
import { isSessionNumber } from '../core/multi/sessions.js';
import type { ClientFailure, ClientSuccess, Command } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { isKey, isSession, isValue, MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../core/validate.js';
import type { FaultRules } from '../transport/faults.js';
import type { ReplicaEvent } from './events.js';
import type { LatencySampler } from './latency-sampler.js';
import { MAX_CLIENT_TIMEOUT_MS } from './limits.js';
import type { Replica } from './replica.js';
import { MAX_HELD, MAX_TICKS, NOT_STEP_MODE, type StepControl, tickAndSettle } from './step.js';

/** A client command's optional identity (for retries) and how long the client waits. */
export interface CommandOptions {
  readonly session?: string;
  readonly seq?: number;
  readonly timeoutMs?: number;
}

export type ControlRequest =
  | ({ readonly op: 'propose'; readonly key: string; readonly value: string } & CommandOptions)
  | ({ readonly op: 'get'; readonly key: string } & CommandOptions)
  /** Multi: replace the configuration of epoch `fromEpoch` by `voters` (membership change), through the same path as propose. */
  | ({ readonly op: 'reconfigure'; readonly fromEpoch: number; readonly voters: readonly number[] } & CommandOptions)
  /**
   * Multi: open a client session, chosen in the log; the reply's value is its
   * number. A client that retries its commands (through any replica) sends
   * them as (that session, its own seq) and registers again when told
   * `session-evicted`.
   */
  | ({ readonly op: 'register' } & Pick<CommandOptions, 'timeoutMs'>)
  | { readonly op: 'status' }
  /** The key-value state as this replica has applied it (multi) or learned it (basic), for checking convergence. */
  | { readonly op: 'kv' }
  /** What this replica has learned as chosen, a page at a time: for `paxos check`'s agreement and durability checks. */
  | { readonly op: 'log'; readonly from: number }
  | { readonly op: 'faults'; readonly rules: FaultRules }
  | { readonly op: 'peers'; readonly peers: Record<string, { host: string; port: number }> }
  | { readonly op: 'subscribe' }
  /** Step mode: list, release or forget held messages, and advance this replica's time. */
  | { readonly op: 'held' }
  | { readonly op: 'deliver' | 'drop' | 'duplicate'; readonly ids: readonly string[] | 'all' }
  | { readonly op: 'tick'; readonly count: number }
  /** Step mode, for a live scenario: what the replica did since the last ask, whether it is at rest, and how many peer messages it took in. */
  | { readonly op: 'journal' }
  /** Step mode: the acceptor's and learner's state in the scenario's words. */
  | { readonly op: 'state' }
  /** Step mode: take a message its sender (killed since) held for this replica, as if it came off the wire. */
  | { readonly op: 'inject'; readonly message: unknown }
  /** `paxos bench`: start noting the times of 1 slot in `every` (latency-sampler.ts), or stop (`every` 0) and take the notes. */
  | { readonly op: 'latency-samples'; readonly every: number };

export class ControlError extends Error {}

/** The sparsest sampling the bench may ask for: 1 slot in this many. */
const MAX_SAMPLE_EVERY = 1_000_000;

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
      return { op: 'propose', key: r.key, value: r.value, ...parseCommandOptions(r) };
    case 'get':
      if (!isKey(r.key)) throw new ControlError(`a key must be 1 to ${MAX_KEY_BYTES} bytes`);
      return { op: 'get', key: r.key, ...parseCommandOptions(r) };
    case 'reconfigure':
      if (!Number.isSafeInteger(r.fromEpoch) || (r.fromEpoch as number) < 0)
        throw new ControlError('reconfigure needs fromEpoch, the epoch it replaces (a whole number from 0)');
      if (!Array.isArray(r.voters)) throw new ControlError('reconfigure needs voters, a list of replica ids');
      {
        const problem = votersProblem(r.voters);
        if (problem !== null) throw new ControlError(problem);
      }
      return {
        op: 'reconfigure',
        fromEpoch: r.fromEpoch as number,
        voters: r.voters as number[],
        ...parseCommandOptions(r),
      };
    case 'register': {
      const { timeoutMs } = parseCommandOptions({ timeoutMs: r.timeoutMs });
      return { op: 'register', ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
    }
    case 'status':
    case 'subscribe':
    case 'kv':
      return { op: r.op };
    case 'log':
      if (!Number.isSafeInteger(r.from) || (r.from as number) < 0)
        throw new ControlError('log needs a slot (or index) to start from');
      return { op: 'log', from: r.from as number };
    case 'faults':
      return { op: 'faults', rules: parseRules(r.rules) };
    case 'peers':
      return { op: 'peers', peers: parsePeers(r.peers) };
    case 'held':
      return { op: 'held' };
    case 'deliver':
    case 'drop':
    case 'duplicate':
      return { op: r.op, ids: parseHeldIds(r.ids) };
    case 'tick':
      if (!Number.isSafeInteger(r.count) || (r.count as number) < 1 || (r.count as number) > MAX_TICKS)
        throw new ControlError(`tick needs a count from 1 to ${MAX_TICKS}`);
      return { op: 'tick', count: r.count as number };
    case 'journal':
    case 'state':
      return { op: r.op };
    case 'inject':
      return { op: 'inject', message: r.message };
    case 'latency-samples':
      if (!Number.isSafeInteger(r.every) || (r.every as number) < 0 || (r.every as number) > MAX_SAMPLE_EVERY)
        throw new ControlError(`latency-samples needs every, from 1 to ${MAX_SAMPLE_EVERY} to start or 0 to stop`);
      return { op: 'latency-samples', every: r.every as number };
    default:
      throw new ControlError(`unknown request "${String(r.op)}"`);
  }
}

export { MAX_CLIENT_TIMEOUT_MS };

function parseCommandOptions(r: Obj): CommandOptions {
  const o: { session?: string; seq?: number; timeoutMs?: number } = {};
  if (r.session !== undefined || r.seq !== undefined) {
    if (!isSession(r.session))
      throw new ControlError('a session is 1 to 64 letters, digits, dots, dashes or underscores');
    if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1)
      throw new ControlError('seq must be a whole number from 1');
    o.session = r.session;
    o.seq = r.seq as number;
  }
  if (r.timeoutMs !== undefined) {
    if (typeof r.timeoutMs !== 'number' || !(r.timeoutMs > 0) || r.timeoutMs > MAX_CLIENT_TIMEOUT_MS)
      throw new ControlError(`timeoutMs must be above 0 and at most ${MAX_CLIENT_TIMEOUT_MS}`);
    o.timeoutMs = r.timeoutMs;
  }
  return o;
}

function parseRules(x: unknown): FaultRules {
  if (typeof x !== 'object' || x === null) throw new ControlError('fault rules must be an object');
  const r = x as Obj;
  const rules: { partition?: number[][]; delayMs?: { min: number; max: number }; dropRate?: number } = {};
  if (r.partition !== undefined && r.partition !== null) {
    if (
      !Array.isArray(r.partition) ||
      !r.partition.every((g) => Array.isArray(g) && g.every((n) => Number.isInteger(n)))
    ) {
      throw new ControlError('partition must be a list of lists of node ids');
    }
    rules.partition = r.partition as number[][];
  }
  if (r.delayMs !== undefined && r.delayMs !== null) {
    const d = r.delayMs as Obj;
    if (typeof d.min !== 'number' || typeof d.max !== 'number' || d.min < 0 || d.max < d.min)
      throw new ControlError('delay must be {min, max} milliseconds');
    rules.delayMs = { min: d.min, max: d.max };
  }
  if (r.dropRate !== undefined) {
    if (typeof r.dropRate !== 'number' || r.dropRate < 0 || r.dropRate > 1)
      throw new ControlError('drop rate must be between 0 and 1');
    rules.dropRate = r.dropRate;
  }
  return rules;
}

/** `all`, or a list of held-message ids (`node:seq`, as `paxos held` shows them). */
function parseHeldIds(x: unknown): readonly string[] | 'all' {
  if (x === 'all') return 'all';
  if (
    !Array.isArray(x) ||
    x.length === 0 ||
    x.length > MAX_HELD ||
    !x.every((id) => typeof id === 'string' && /^\d{1,4}:\d{1,15}$/.test(id))
  ) {
    throw new ControlError('ids must be "all" or a list of held-message ids like 1:3');
  }
  return x as string[];
}

function parsePeers(x: unknown): Record<string, { host: string; port: number }> {
  if (typeof x !== 'object' || x === null) throw new ControlError('peers must be an object');
  for (const v of Object.values(x as Obj)) {
    const p = v as Obj;
    if (typeof p?.host !== 'string' || !Number.isInteger(p.port))
      throw new ControlError('each peer needs a host and a port');
  }
  return x as Record<string, { host: string; port: number }>;
}

export interface ControlContext {
  readonly replica: Replica;
  readonly setFaults: (rules: FaultRules) => void;
  readonly setPeers: (peers: Map<number, { host: string; port: number }>) => void;
  readonly push: (event: ReplicaEvent) => void;
  readonly onClose: (cleanup: () => void) => void;
  /** Present only in a replica started with --step. */
  readonly step?: StepControl;
  /** The bench's latency sampler; absent, `latency-samples` is refused. */
  readonly latency?: LatencySampler;
}

/** Answers one control request; client command replies carry the measured latency. */
export async function handleControl(ctx: ControlContext, raw: unknown): Promise<unknown> {
  const req = parseControlRequest(raw);
  switch (req.op) {
    case 'propose':
    case 'get':
      return runCommand(
        ctx,
        req.op === 'propose' ? { op: 'set', key: req.key, value: req.value } : { op: 'get', key: req.key },
        req,
      );
    case 'reconfigure':
      return runCommand(ctx, configCommand(ctx, req), req);
    case 'register':
      return runCommand(ctx, { op: 'register' }, req);
    case 'status':
      return { status: ctx.replica.status() };
    case 'kv': {
      const all = [...ctx.replica.kvSnapshot()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { count: all.length, entries: all.slice(0, KV_DUMP_LIMIT), truncated: all.length > KV_DUMP_LIMIT };
    }
    case 'log':
      return ctx.replica.chosenLog(req.from, KV_DUMP_LIMIT);
    case 'faults':
      ctx.setFaults(req.rules);
      return { ok: true };
    case 'peers':
      ctx.setPeers(new Map(Object.entries(req.peers).map(([id, p]) => [Number(id), p])));
      return { ok: true };
    case 'subscribe':
      ctx.onClose(ctx.replica.subscribe(ctx.push));
      return { ok: true, status: ctx.replica.status() };
    case 'held':
      return stepOf(ctx).links.list();
    case 'deliver':
      return stepOf(ctx).links.deliver(req.ids);
    case 'drop':
      return stepOf(ctx).links.drop(req.ids);
    case 'duplicate':
      return stepOf(ctx).links.duplicate(req.ids);
    case 'tick':
      return tickAndSettle(stepOf(ctx), req.count);
    case 'journal': {
      const step = stepOf(ctx);
      return { ...step.journal.take(), settled: step.settled(), messagesIn: step.messagesIn() };
    }
    case 'state':
      return { lines: stepOf(ctx).state() };
    case 'latency-samples': {
      if (ctx.latency === undefined) throw new ControlError('this replica does not sample latency');
      if (req.every === 0) return ctx.latency.take();
      ctx.latency.start(req.every);
      return { ok: true };
    }
    case 'inject': {
      const step = stepOf(ctx);
      const message = step.validate(req.message);
      if (message === null || message.to !== ctx.replica.status().node)
        throw new ControlError("inject needs a peer message of this cluster's protocol, addressed to this replica");
      step.links.inject(message);
      return { ok: true };
    }
  }
}

function stepOf(ctx: ControlContext): StepControl {
  if (ctx.step === undefined) throw new ControlError(NOT_STEP_MODE);
  return ctx.step;
}

/**
 * The config command, refused here when this replica cannot run it: Basic
 * Paxos has no log to carry a configuration, and a core that reports no
 * membership in its view does not know the command.
 */
function configCommand(ctx: ControlContext, req: { fromEpoch: number; voters: readonly number[] }): Command {
  const view = ctx.replica.status().view;
  if (view.protocol !== 'multi') throw new ControlError(BASIC_NO_MEMBERSHIP);
  if (view.membership === undefined)
    throw new ControlError(`${nodeName(view.id)} runs a core without membership change; rebuild paxos with it`);
  return { op: 'config', fromEpoch: req.fromEpoch, voters: [...req.voters] };
}

async function runCommand(
  ctx: ControlContext,
  command: Command,
  o: CommandOptions,
): Promise<(ClientSuccess | (Omit<ClientFailure, 'error'> & { reason: string })) & { latencyMs: number }> {
  const started = performance.now();
  const identity = o.session !== undefined && o.seq !== undefined ? { session: o.session, seq: o.seq } : undefined;
  // Multi: a name of the client's own would be taken for a replica's own session, which only that replica may send
  // (its horizon rule is safe only then). Basic Paxos keeps no sessions: a retry there learns the chosen value.
  if (identity !== undefined && !isSessionNumber(identity.session) && ctx.replica.status().view.protocol === 'multi')
    throw new ControlError(
      'a session is the number a register request answered with; register one first, or send no session',
    );
  const reply = await ctx.replica.requestAsync(command, {
    ...(identity ? { identity } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const latencyMs = performance.now() - started;
  if (reply.ok) return { ...reply, latencyMs };
  // A refused or unknown command is an answer, not a failed request: its sentence travels as `reason`,
  // because an `error` field would make the control client throw it away with the outcome.
  const { error, ...rest } = reply;
  return { ...rest, reason: error, latencyMs };
}
