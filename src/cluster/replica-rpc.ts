/**
 * What the orchestrator asks a replica over the replica's control connection,
 * and what each answer holds: one map from op to request body and reply, so
 * that a request names its op once and its reply's type follows from it.
 * Every reply is checked against its schema where it comes off the network:
 * a replica that answers something else (another build, a bug) becomes one
 * sentence naming the replica and the field, not a TypeError further on.
 */
import * as v from 'valibot';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ControlRequest } from '../node/control.js';
import type { ReplicaStatus } from '../node/events.js';
import type { ControlClient } from '../transport/ws-transport.js';
import { checkOrThrow } from './schemas.js';

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const ok = v.object({ ok: v.literal(true) });

/**
 * A replica's status is its own report of its core's view, which the
 * orchestrator only passes on for display and reads one count of; it is
 * checked as far as that goes, and kept whole (the view is the core's type, a
 * union per protocol that this layer does not restate).
 */
const StatusShape = v.looseObject({
  node: v.number(),
  pid: v.number(),
  port: v.number(),
  view: v.looseObject({ id: v.number(), protocol: v.picklist(['multi', 'basic']), chosenCount: count }),
});
export const ReplicaStatusSchema = v.custom<ReplicaStatus>(
  (x) => v.is(StatusShape, x),
  'a replica status: its node, pid and port, and a view with its id, protocol and chosen count',
);

export const HeldMessageSchema = v.object({
  id: v.string(),
  from: v.number(),
  to: v.number(),
  type: v.string(),
  ballot: v.nullable(v.string()),
  slot: v.nullable(v.number()),
  key: v.nullable(v.string()),
  value: v.nullable(v.string()),
  text: v.string(),
});

const released = v.object({ done: v.array(HeldMessageSchema), missing: v.array(v.string()) });

/** The schema of each answer the orchestrator reads, by op. */
const REPLIES = {
  status: v.object({ status: ReplicaStatusSchema }),
  subscribe: v.object({ ok: v.literal(true), status: ReplicaStatusSchema }),
  faults: ok,
  peers: ok,
  held: v.object({ messages: v.array(HeldMessageSchema), total: count, droppedFull: count }),
  deliver: released,
  drop: released,
  duplicate: released,
  tick: v.object({ ticks: count, newlyHeld: count, held: count }),
} as const;

export type ReplicaOp = keyof typeof REPLIES;

/** The body of a replica's control request for `op`, as the replica itself declares it (`ControlRequest`), without the op. */
type BodyOf<K extends string> = ControlRequest extends infer R
  ? R extends { readonly op: infer O }
    ? K extends O
      ? Omit<R, 'op'>
      : never
    : never
  : never;

/** By op: the request's body, and the reply as it arrives (checked, not copied: see `checkOrThrow`). */
export type ReplicaRpc = { [K in ReplicaOp]: { req: BodyOf<K>; res: v.InferInput<(typeof REPLIES)[K]> } };

/**
 * The orchestrator's connection to one registered replica. Requests whose
 * answers the orchestrator reads go through `request`, typed and checked;
 * a live scenario's own step requests go through `forward`, whose answers
 * the scenario reads.
 */
export class ReplicaLink {
  constructor(
    readonly node: NodeId,
    private readonly control: ControlClient,
  ) {}

  async request<K extends ReplicaOp>(
    op: K,
    body: ReplicaRpc[K]['req'],
    timeoutMs: number,
  ): Promise<ReplicaRpc[K]['res']> {
    const reply = await this.control.request({ op, ...body }, timeoutMs);
    return checkOrThrow(
      REPLIES[op],
      reply,
      `${nodeName(this.node)}'s answer to ${op}`,
      (sentence) => new OperatingError(sentence),
    );
  }

  /** A request the orchestrator only relays (a live scenario's); its answer goes back unread. */
  forward(body: { readonly op: string } & Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    return this.control.request(body, timeoutMs);
  }

  onEvent(handler: (event: unknown) => void): void {
    this.control.onEvent(handler);
  }

  close(): void {
    this.control.close();
  }
}
