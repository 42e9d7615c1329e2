/**
 * Schemas for what the CLI reads back from disk: the cluster record
 * (`cluster.json` in PAXOS_HOME) and the cluster templates. Each schema is
 * both the check and the type (`v.InferOutput`), so the two cannot drift
 * apart, and a malformed file becomes one sentence naming the file and the
 * field instead of a crash deep inside a command.
 *
 * The replicas' per-message validation on the hot path stays hand-written in
 * the transport: it runs for every message and does not need these schemas'
 * generality.
 */
import * as v from 'valibot';
import { MAX_NODE_ID } from '../core/membership.js';
import { describeIssue } from '../text/issues.js';

const port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65_535));
const pid = v.pipe(v.number(), v.integer(), v.minValue(1));
const protocol = v.picklist(['multi', 'basic']);
/** A replica's place in the cluster as the manifest records it: voting, catching up to join, or gone for good. */
const memberState = v.picklist(['voter', 'learner', 'removed']);

export const ReplicaRecordSchema = v.pipe(
  v.object({
    id: v.pipe(v.number(), v.integer(), v.minValue(1)),
    port,
    dataDir: v.string(),
    logFile: v.string(),
    pid: v.nullable(pid),
  }),
  v.readonly(),
);

/** Unknown keys are dropped rather than refused: a newer version may add fields to a record an older one reads. */
export const ClusterRecordSchema = v.pipe(
  v.object({
    version: v.literal(1),
    protocol,
    clusterSize: v.pipe(v.number(), v.integer(), v.minValue(1)),
    host: v.pipe(v.string(), v.nonEmpty()),
    secret: v.pipe(v.string(), v.nonEmpty()),
    orchestratorPid: pid,
    /** The orchestrator's control plane: a unix socket, mode 0600 (control-socket.ts). */
    controlSocket: v.pipe(v.string(), v.nonEmpty()),
    replicas: v.pipe(v.array(ReplicaRecordSchema), v.readonly()),
    startedAtMs: v.number(),
    /** Optional so that a record written before manifests existed still reads. */
    clusterId: v.optional(v.string()),
    /** Whether this run resumed the cluster from its data, and how many values its replicas held then. */
    resumed: v.optional(v.boolean()),
    chosenAtStart: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    /** What the user should hear about this start (a port that moved), for a detached `up` to print. */
    notices: v.optional(v.array(v.string())),
    /** `paxos up --trace FILE`: where the run's merged trace is written when it stops, for `down` to say. */
    traceFile: v.optional(v.string()),
    /** `paxos up --step`: messages are held and time moves only on request. */
    step: v.optional(v.boolean()),
  }),
  v.readonly(),
);

/**
 * The cluster manifest (`data/manifest.json`): what a cluster's data is, kept
 * beside the data so that `paxos up` can resume it. A replica's port is null
 * until it has first registered one.
 */
export const ManifestSchema = v.pipe(
  v.object({
    version: v.literal(1),
    clusterId: v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/, '16 hex digits')),
    protocol,
    clusterSize: v.pipe(v.number(), v.integer(), v.minValue(1)),
    createdAtMs: v.number(),
    replicas: v.pipe(
      v.array(
        v.object({
          id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NODE_ID)),
          port: v.nullable(port),
          /** A manifest written before membership change has none: every replica then is a voter. */
          state: v.optional(memberState, 'voter'),
        }),
      ),
      v.readonly(),
    ),
    /** The id the next replica to join gets; ids are never reused (a wiped replica rejoins as a new member). Absent: one past the highest. */
    nextId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NODE_ID + 1))),
  }),
  v.check(
    (m) => m.replicas.length >= m.clusterSize && m.replicas.slice(0, m.clusterSize).every((r, i) => r.id === i + 1),
    'one replica entry per bootstrap member, node-1 first',
  ),
  v.check((m) => new Set(m.replicas.map((r) => r.id)).size === m.replicas.length, 'each replica once'),
  v.check(
    ({ nextId, replicas }) => nextId === undefined || replicas.every((r) => r.id < nextId),
    'nextId above every replica id',
  ),
  v.readonly(),
);

export type Manifest = v.InferOutput<typeof ManifestSchema>;
export type MemberState = v.InferOutput<typeof memberState>;

export type ReplicaRecord = v.InferOutput<typeof ReplicaRecordSchema>;
export type ClusterRecord = v.InferOutput<typeof ClusterRecordSchema>;

/**
 * A template file as written by hand. Unknown keys are refused: a typo such
 * as `"node": 5` would otherwise be silently ignored. The delay and drop
 * texts are checked by the same parsers as the `--delay` and `--drop` flags.
 */
export const TemplateFileSchema = v.strictObject({
  description: v.optional(v.string()),
  nodes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(15))),
  protocol: v.optional(protocol),
  net: v.optional(
    v.strictObject({
      delay: v.optional(v.string()),
      drop: v.optional(v.string()),
    }),
  ),
});

export type TemplateFile = v.InferOutput<typeof TemplateFileSchema>;

/** Checks `value` against `schema`; the error (the caller's class) carries describeIssue's sentence. */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  file: string,
  makeError: (sentence: string) => Error,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  throw makeError(describeIssue(file, result.issues[0]));
}

/**
 * Checks `value` against `schema` and returns the value itself rather than a
 * parsed copy: a parse rebuilds every object in the schema's key order and
 * drops the keys it does not name, and an answer read back from the network
 * is passed on as it came (it is what `--json` prints).
 */
export function checkOrThrow<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  what: string,
  makeError: (sentence: string) => Error,
): v.InferInput<S> {
  if (v.is(schema, value)) return value;
  const result = v.safeParse(schema, value);
  throw makeError(result.success ? `${what} is invalid` : describeIssue(what, result.issues[0]));
}

const nodeId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NODE_ID));
const delayRange = v.pipe(
  v.object({ min: v.pipe(v.number(), v.minValue(0)), max: v.pipe(v.number(), v.minValue(0)) }),
  v.check((d) => d.max >= d.min, 'a delay range runs from min up to max'),
);

/**
 * What the orchestrator is asked over its control socket, by the CLI, by
 * replicas registering, and by `paxos check`. Every request is checked here
 * before it is acted on: a malformed one is answered with one sentence, and
 * the handlers get typed values, not `Number(req.node)` of whatever came.
 */
export const OrchestratorRequestSchema = v.variant('op', [
  v.object({ op: v.literal('register'), node: nodeId, port, pid }),
  v.object({ op: v.picklist(['status', 'subscribe', 'kill-all', 'restart-all', 'resume-all', 'heal', 'down']) }),
  v.object({ op: v.picklist(['kill', 'restart', 'recover', 'pause', 'resume', 'isolate']), node: nodeId }),
  /** Membership change: start a new replica as a learner; stop one and mark it removed; record that a learner now votes. */
  v.object({ op: v.literal('add-learner') }),
  v.object({ op: v.picklist(['remove-replica', 'mark-voter']), node: nodeId }),
  v.object({ op: v.literal('partition'), groups: v.array(v.array(nodeId)) }),
  /** Step mode: list held messages; deliver, drop or duplicate some (`node:seq` ids) or all (no ids); tick one replica or all (no node). */
  v.object({ op: v.literal('held') }),
  v.object({
    op: v.picklist(['deliver', 'drop', 'duplicate']),
    ids: v.optional(
      v.pipe(
        v.array(v.pipe(v.string(), v.regex(/^\d{1,4}:\d{1,15}$/, 'a held-message id like 1:3'))),
        v.minLength(1),
        v.maxLength(10_000),
      ),
    ),
  }),
  v.object({
    op: v.literal('tick'),
    node: v.optional(nodeId),
    count: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
  }),
  v.object({
    op: v.literal('net'),
    delayMs: v.optional(v.nullable(delayRange)),
    dropRate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  }),
]);

export type OrchestratorRequest = v.InferOutput<typeof OrchestratorRequestSchema>;
