/**
 * `paxos propose x=7` and `paxos get x`: sent straight to one replica (the
 * leader when there is one, else the first replica that is up), answered once
 * the value is chosen, or refused with the reason a decision cannot be made.
 */
import { ClusterClient } from '../../cluster/client.js';
import type { ClusterStatus } from '../../cluster/orchestrator.js';
import { formatBallot } from '../../core/ballot.js';
import type { ClientReply, ClientSuccess } from '../../core/types.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../../core/validate.js';
import { OperatingError, UsageError } from '../../errors.js';

/** A replica's answer to a client command, with the latency it measured. */
export type CommandResult = ClientSuccess & { readonly latencyMs: number };

export function parseAssignment(text: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq < 0) throw new UsageError(`propose needs key=value, like x=7 (got "${text}")`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  checkKey(key);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
    throw new UsageError(`the value is ${Buffer.byteLength(value)} bytes; the largest value a replica accepts is ${MAX_VALUE_BYTES} bytes`);
  }
  return { key, value };
}

export function checkKey(key: string): void {
  if (key.length === 0) throw new UsageError('a key is needed before "=", like x=7');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new UsageError(`the key is longer than ${MAX_KEY_BYTES} bytes`);
}

/** The replica to ask: the one named, else the leader, else the first one up. */
export function pickReplica(status: ClusterStatus, via: number | undefined): number {
  if (via !== undefined) {
    const r = status.replicas.find((x) => x.id === via);
    if (r === undefined) throw new UsageError(`there is no node-${via}: this cluster has node-1 to node-${status.clusterSize}`);
    if (!r.up) throw new OperatingError(`node-${via} is down; restart it with \`paxos restart node-${via}\` or use another --via`);
    return via;
  }
  const up = status.replicas.filter((r) => r.up);
  if (up.length === 0) throw new OperatingError(`no quorum: 0 of ${status.clusterSize} nodes are up`);
  const leader = up.find((r) => r.status?.view.role === 'leader' && !r.isolated);
  return (leader ?? up.find((r) => !r.isolated) ?? up[0]!).id;
}

function noQuorumReason(status: ClusterStatus, target: number, timeoutMs: number): string {
  const me = status.replicas.find((r) => r.id === target)!;
  const groups = status.faults.partition;
  const reachable = status.replicas.filter((r) => r.up && (groups === undefined || groups.some((g) => g.includes(target) && g.includes(r.id)) || (r.id === target && me.up))).length;
  const need = Math.floor(status.clusterSize / 2) + 1;
  if (reachable < need) return `no quorum: ${reachable} of ${status.clusterSize} nodes reachable from node-${target}, ${need} needed`;
  return `no decision within ${timeoutMs / 1000}s from node-${target} (${reachable} of ${status.clusterSize} nodes reachable)`;
}

export async function runClientCommand(o: { command: { op: 'propose'; key: string; value: string } | { op: 'get'; key: string }; via?: number; timeoutMs: number }): Promise<CommandResult & { node: number }> {
  const cluster = await ClusterClient.connect();
  try {
    const status = await cluster.status();
    const node = pickReplica(status, o.via);
    const replica = await cluster.replica(node);
    try {
      const reply = (await replica.request(o.command, o.timeoutMs).catch(async (err: Error) => {
        if (/timed out/i.test(err.message)) throw new OperatingError(noQuorumReason(await cluster.status(), node, o.timeoutMs));
        throw new OperatingError(`node-${node}: ${err.message}`);
      })) as ClientReply & { latencyMs: number };
      // The control client already turns a failure reply into a rejection; this guards the type.
      if (!reply.ok) throw new OperatingError(reply.error);
      return { ...reply, node };
    } finally {
      replica.close();
    }
  } finally {
    cluster.close();
  }
}

export function describeResult(r: CommandResult & { node: number }, proposed?: string): string {
  const where = r.slot !== undefined ? ` in slot #${r.slot}` : '';
  const trips = `${r.roundTrips} round trip${r.roundTrips === 1 ? '' : 's'}`;
  const tail = `at ballot ${formatBallot(r.ballot)}, ${trips}, ${r.latencyMs.toFixed(1)} ms via node-${r.node}`;
  if (r.op === 'get') return `${r.key} = ${r.value ?? '(nothing chosen)'} (read${where} ${tail})`;
  if (r.alreadyChosen) return `${r.key} was already chosen as ${r.value}; ${proposed} was not chosen (${tail})`;
  return `chosen ${r.key}=${r.value}${where} ${tail}`;
}
