/**
 * What a command in another terminal (or a replica registering) asks the
 * orchestrator, and what each answer holds: one map from op to request body
 * and reply. The registry's handlers are typed by it, so each must return its
 * op's reply, and `ClusterClient` checks every answer against the same
 * schemas where it comes off the network, so nothing read back is cast.
 * Requests are checked on arrival by `OrchestratorRequestSchema`.
 */
import * as v from 'valibot';
import { HeldMessageSchema, ReplicaStatusSchema } from './replica-rpc.js';
import type { OrchestratorRequest } from './schemas.js';

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const nodeIds = v.array(v.number());
const groups = v.pipe(v.array(v.pipe(v.array(v.number()), v.readonly())), v.readonly());

const FaultRulesSchema = v.object({
  /** Groups that can talk among themselves only; a replica in no group is cut off from everyone. */
  partition: v.optional(groups),
  delayMs: v.optional(v.object({ min: v.number(), max: v.number() })),
  dropRate: v.optional(v.number()),
});

/** One replica as `paxos status` shows it. */
const ReplicaRowSchema = v.object({
  id: v.number(),
  port: v.number(),
  pid: v.nullable(v.number()),
  up: v.boolean(),
  isolated: v.boolean(),
  status: v.nullable(ReplicaStatusSchema),
  /**
   * Stopped by `paxos pause`. This orchestrator always sets it; it is
   * optional only so that status objects built elsewhere (tests, older
   * callers) that predate it stay valid.
   */
  paused: v.optional(v.boolean()),
});

export const ClusterStatusSchema = v.pipe(
  v.object({
    protocol: v.picklist(['multi', 'basic']),
    /** The bootstrap size; replicas that joined later have ids beyond it. */
    clusterSize: count,
    /**
     * Every replica the cluster ever had, with its state as the manifest
     * records it (removed ones included: their ids are spent). Optional only
     * so that status objects built elsewhere stay valid.
     */
    members: v.optional(
      v.pipe(v.array(v.object({ id: v.number(), state: v.picklist(['voter', 'learner', 'removed']) })), v.readonly()),
    ),
    orchestratorPid: v.number(),
    faults: FaultRulesSchema,
    /** Started with `paxos up --step`: messages are held and time moves only on request. Absent otherwise. */
    step: v.optional(v.boolean()),
    replicas: v.pipe(v.array(ReplicaRowSchema), v.readonly()),
  }),
  v.readonly(),
);

export type ClusterStatus = v.InferOutput<typeof ClusterStatusSchema>;

const ok = v.object({ ok: v.literal(true) });
const okNodes = v.object({ ok: v.literal(true), nodes: nodeIds });
const okFaults = v.object({ ok: v.literal(true), faults: FaultRulesSchema });

/** The schema of each answer, by op. */
export const ORCHESTRATOR_REPLIES = {
  register: ok,
  status: v.object({ cluster: ClusterStatusSchema }),
  subscribe: v.object({ ok: v.literal(true), cluster: ClusterStatusSchema }),
  kill: ok,
  restart: ok,
  recover: ok,
  'kill-all': okNodes,
  'restart-all': okNodes,
  pause: ok,
  resume: ok,
  'resume-all': okNodes,
  partition: okFaults,
  isolate: okFaults,
  heal: okFaults,
  net: okFaults,
  'add-learner': v.object({ ok: v.literal(true), node: v.number(), port: v.number() }),
  'remove-replica': ok,
  'mark-voter': ok,
  /** Step mode; `down` lists the replicas down or paused, whose held messages (if any) are not listed. */
  held: v.object({ messages: v.array(HeldMessageSchema), total: count, droppedFull: count, down: nodeIds }),
  deliver: v.object({ done: v.array(HeldMessageSchema) }),
  drop: v.object({ done: v.array(HeldMessageSchema) }),
  duplicate: v.object({ done: v.array(HeldMessageSchema) }),
  tick: v.object({ ticks: v.array(v.object({ node: v.number(), ticks: count, newlyHeld: count, held: count })) }),
  down: ok,
} as const satisfies Record<OrchestratorRequest['op'], v.GenericSchema>;

export type OrchestratorOp = OrchestratorRequest['op'];

/** The checked request for `op`, as its handler receives it (a member of the schema's union may stand for several ops). */
export type OrchestratorRequestOf<K extends OrchestratorOp> = OrchestratorRequest extends infer R
  ? R extends { readonly op: infer O }
    ? K extends O
      ? Omit<R, 'op'> & { readonly op: K }
      : never
    : never
  : never;

/**
 * By op: the request's body, the reply as a handler returns it, and the
 * reply as the client receives it (checked, not copied: see `checkOrThrow`).
 */
export type OrchestratorRpc = {
  [K in OrchestratorOp]: {
    req: Omit<OrchestratorRequestOf<K>, 'op'>;
    reply: v.InferOutput<(typeof ORCHESTRATOR_REPLIES)[K]>;
    res: v.InferInput<(typeof ORCHESTRATOR_REPLIES)[K]>;
  };
};
