/**
 * `paxos propose x=7` and `paxos get x`: sent straight to one replica (the
 * leader when there is one, else the first replica that is up), answered once
 * the value is chosen, or refused with the reason a decision cannot be made.
 */
import { ClusterClient } from '../../cluster/client.js';
import { describeIds, paxosHome } from '../../cluster/home.js';
import type { ClusterStatus } from '../../cluster/orchestrator.js';
import { readRecord } from '../../cluster/record.js';
import { formatBallot } from '../../core/ballot.js';
import type { ClientFailure, ClientSuccess } from '../../core/types.js';
import { nodeName } from '../../core/types.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../../core/validate.js';
import { OperatingError, OutcomeError, UsageError } from '../../errors.js';
import { showLine, showText } from '../../text/escape.js';

/** A replica's answer to a client command, with the latency it measured. */
export type CommandResult = ClientSuccess & { readonly latencyMs: number };

/** Prints a command's result, or with --json its failure as JSON on stdout too, before the one-sentence error. */
export async function printOutcome(o: {
  json: boolean;
  run: () => Promise<CommandResult & { node: number }>;
  describe: (r: CommandResult & { node: number }) => string;
  proposed?: string;
}): Promise<void> {
  try {
    const r = await o.run();
    if (r.alreadyChosen === true) throw new AlreadyChosenError(r, o.proposed ?? '');
    process.stdout.write(o.json ? `${JSON.stringify({ ...r, outcome: 'ok' })}\n` : `${o.describe(r)}\n`);
  } catch (err) {
    if (o.json && err instanceof OutcomeError) process.stdout.write(`${failureJson(err)}\n`);
    throw err;
  }
}

/**
 * In step mode a command progresses only as the user delivers and ticks, so
 * the default five seconds would give up long before anyone could: there a
 * default timeout is ten minutes (the most a replica allows). A --timeout
 * typed (or set in the environment) is kept as it is.
 */
export function stepAwareTimeout(timeoutMs: number, isDefault: boolean): number {
  if (!isDefault) return timeoutMs;
  const record = (() => {
    try {
      return readRecord(paxosHome());
    } catch {
      return null;
    }
  })();
  return record?.step === true ? STEP_MODE_TIMEOUT_MS : timeoutMs;
}

const STEP_MODE_TIMEOUT_MS = 600_000;

export function parseAssignment(text: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq < 0) throw new UsageError(`propose needs key=value, like x=7 (got "${text}")`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  checkKey(key);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
    throw new UsageError(
      `the value is ${Buffer.byteLength(value)} bytes; the largest value a replica accepts is ${MAX_VALUE_BYTES} bytes`,
    );
  }
  return { key, value };
}

/**
 * A key as a command gives it: not empty, and without white space, which
 * would make `x` and `x ` two keys that print alike. `forGet` words the
 * empty case for `get`, which has no "=".
 */
export function checkKey(key: string, forGet = false): void {
  if (key.length === 0)
    throw new UsageError(forGet ? 'get needs a key, like `paxos get x`' : 'a key is needed before "=", like x=7');
  if (/\s/u.test(key))
    throw new UsageError(`a key cannot contain spaces or other white space (got ${JSON.stringify(key)})`);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new UsageError(`the key is longer than ${MAX_KEY_BYTES} bytes`);
}

/** The replica to ask: the one named, else the leader, else the first one up. */
export function pickReplica(status: ClusterStatus, via: number | undefined): number {
  if (via !== undefined) {
    const r = status.replicas.find((x) => x.id === via);
    if (r === undefined)
      throw new UsageError(
        `there is no ${nodeName(via)}: this cluster has ${describeIds(status.replicas.map((x) => x.id))}`,
      );
    if (!r.up)
      throw new OperatingError(
        `${nodeName(via)} is down; restart it with \`paxos restart ${nodeName(via)}\` or use another --via`,
      );
    return via;
  }
  const up = status.replicas.filter((r) => r.up);
  if (up.length === 0) throw new OperatingError(`no quorum: 0 of ${status.clusterSize} nodes are up`);
  const leader = up.find((r) => r.status?.view.role === 'leader' && !r.isolated);
  return (leader ?? up.find((r) => !r.isolated) ?? up[0]).id;
}

/** How much longer than the replica's own deadline the client waits for its answer: the answer, or its reason, travels back. */
const ANSWER_GRACE_MS = 2000;

type ClientCommand = { op: 'propose'; key: string; value: string } | { op: 'get'; key: string };

/**
 * Sends one command to one replica and says what happened, honestly: ok
 * (chosen), refused (known not chosen: never sent, or refused by the
 * replica) or unknown (it left for a leader or an acceptor and may still be
 * chosen). The client's deadline travels with the command, so the replica
 * answers, with its own reason, before the client gives up.
 */
export async function runClientCommand(o: {
  command: ClientCommand;
  via?: number;
  timeoutMs: number;
}): Promise<CommandResult & { node: number }> {
  const cluster = await ClusterClient.connect();
  try {
    const status = await cluster.status();
    const node = pickReplica(status, o.via);
    const replica = await cluster.replica(node);
    try {
      const reply = (await replica
        .request({ ...o.command, timeoutMs: o.timeoutMs }, o.timeoutMs + ANSWER_GRACE_MS)
        .catch((err: Error) => {
          // The command was handed over; without an answer nobody can say whether it was chosen.
          throw new OutcomeError(
            `${unknownLead(o.command)} (${nodeName(node)}: ${err.message})`,
            'unknown',
            'no-answer',
            node,
          );
        })) as (ClientSuccess | (Omit<ClientFailure, 'error'> & { reason: string })) & { latencyMs: number };
      if (!reply.ok) throw failureOf(o.command, { ...reply, error: reply.reason }, node);
      return { ...reply, node };
    } finally {
      replica.close();
    }
  } finally {
    cluster.close();
  }
}

function unknownLead(c: ClientCommand): string {
  return c.op === 'propose'
    ? `outcome unknown: ${showText(`${c.key}=${c.value}`)} may still be chosen`
    : `no answer to get ${showText(c.key)}; a read changes nothing, so try again`;
}

function failureOf(c: ClientCommand, reply: ClientFailure, node: number): OutcomeError {
  const text =
    reply.outcome === 'unknown'
      ? `${unknownLead(c)} (${nodeName(node)}: ${showLine(reply.error)})`
      : `${showLine(reply.error)} (${nodeName(node)})`;
  return new OutcomeError(text, reply.outcome, reply.code, node);
}

/**
 * Basic Paxos: the key already holds another value, so the value proposed is
 * known never to be chosen. The outcome says what happened to this command
 * (refused, exit 1), and the JSON carries what is chosen instead.
 */
export class AlreadyChosenError extends OutcomeError {
  constructor(
    readonly chosen: CommandResult & { node: number },
    proposed: string,
  ) {
    super(
      `${showText(chosen.key)} was already chosen as ${showText(chosen.value ?? '')}, so ${showText(proposed)} was not chosen (${resultTail(chosen)})`,
      'refused',
      'already-chosen',
      chosen.node,
    );
  }
}

/** The JSON a failed command prints with --json: the same fields whatever the reason, and the chosen value when one is why. */
export function failureJson(err: OutcomeError): string {
  const chosen =
    err instanceof AlreadyChosenError
      ? { key: err.chosen.key, chosen: err.chosen.value, ballot: err.chosen.ballot }
      : {};
  return JSON.stringify({
    ok: false,
    outcome: err.outcome,
    code: err.code,
    error: err.message,
    node: err.node,
    ...chosen,
  });
}

function resultTail(r: CommandResult & { node: number }): string {
  const trips = `${r.roundTrips} round trip${r.roundTrips === 1 ? '' : 's'}`;
  return `at ballot ${formatBallot(r.ballot)}, ${trips}, ${r.latencyMs.toFixed(1)} ms via ${nodeName(r.node)}`;
}

export function describeResult(r: CommandResult & { node: number }): string {
  const where = r.slot !== undefined ? ` in slot #${r.slot}` : '';
  const tail = resultTail(r);
  const key = showText(r.key);
  const value = r.value === null ? null : showText(r.value);
  if (r.op === 'get') return `${key} = ${value ?? '(nothing chosen)'} (read${where} ${tail})`;
  return `chosen ${key}=${value}${where} ${tail}`;
}
