/**
 * `paxos propose|get|status --cluster FILE`: a command against a cluster of
 * replicas on other hosts, described by a cluster file (see
 * cluster/cluster-file.ts), with no orchestrator anywhere. The command goes
 * to --via if given, else to the leader as the first replica that answers
 * names it, else to that first replica (followers forward to the leader).
 */

import { type Address, type ClusterFile, clientTlsOf, readClusterFile, readToken } from '../cluster/cluster-file.js';
import type { ClientFailure, ClientSuccess } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError, OutcomeError, UsageError } from '../errors.js';
import { showLine, showText } from '../text/escape.js';
import { type ControlClient, connectControl } from '../transport/control-client.js';
import type { CommandResult } from './services/propose.js';

type RemoteCommand = { op: 'propose'; key: string; value: string } | { op: 'get'; key: string };

/** How long one replica gets to answer a connection or a status request before the next is tried. */
const CONNECT_MS = 2000;
const ANSWER_GRACE_MS = 2000;

interface Remote {
  readonly file: ClusterFile;
  readonly secret: string;
  /** wss:// when the file has a tls section (cluster-file.ts). */
  readonly tls: ReturnType<typeof clientTlsOf>;
}

/** A client presents the client token when the file names one, else the admin token, else the one shared secret. */
function openFile(path: string): Remote {
  const file = readClusterFile(path);
  const token = file.clientTokenFile ?? file.adminTokenFile ?? file.tokenFile;
  if (token === undefined)
    throw new UsageError(
      `the cluster file ${path} names no token (tokens.client, tokens.admin or tokenFile); a client presents one`,
    );
  return { file, secret: readToken(token), tls: clientTlsOf(file) };
}

/** A plain ws:// client meets a TLS replica as a reset connection: say what may be missing. */
function withTlsHint(r: Remote, err: unknown): string {
  const text = (err as Error).message;
  return r.tls === undefined && /connection was reset/.test(text)
    ? `${text} (if the replicas serve TLS, the cluster file needs a tls section with caFile)`
    : text;
}

function connect(r: Remote, id: number): Promise<ControlClient> {
  const a: Address | undefined = r.file.members.get(id);
  if (a === undefined) return Promise.reject(new UsageError(`${nodeName(id)} is not in the cluster file`));
  return connectControl({
    host: a.host,
    port: a.port,
    secret: r.secret,
    timeoutMs: CONNECT_MS,
    ...(r.tls !== undefined ? { tls: { ...r.tls, node: id } } : {}),
  });
}

interface ReplicaView {
  readonly leader?: number | null;
}

/**
 * Each member's status, asked in id order until one answers: the leader it
 * names, if any, else that member; and that member as the fallback, for a
 * leader it still names that has just gone down (it forwards the command to
 * whoever leads next).
 */
async function findTarget(r: Remote, via: number | undefined): Promise<{ node: number; fallback: number }> {
  if (via !== undefined) {
    if (!r.file.members.has(via))
      throw new UsageError(
        `${nodeName(via)} is not in the cluster file (members: ${[...r.file.members.keys()].map((id) => nodeName(id)).join(', ')})`,
      );
    return { node: via, fallback: via };
  }
  const problems: string[] = [];
  for (const id of r.file.members.keys()) {
    try {
      const client = await connect(r, id);
      try {
        const reply = (await client.request({ op: 'status' }, CONNECT_MS)) as { status?: { view?: ReplicaView } };
        const leader = reply.status?.view?.leader;
        return { node: typeof leader === 'number' && r.file.members.has(leader) ? leader : id, fallback: id };
      } finally {
        client.close();
      }
    } catch (err) {
      problems.push(`${nodeName(id)}: ${withTlsHint(r, err)}`);
    }
  }
  throw new OperatingError(`no member of cluster ${r.file.clusterId} answered: ${problems.join('; ')}`);
}

export async function runRemoteCommand(o: {
  clusterFile: string;
  command: RemoteCommand;
  via?: number;
  timeoutMs: number;
}): Promise<CommandResult & { node: number }> {
  const r = openFile(o.clusterFile);
  const target = await findTarget(r, o.via);
  let node = target.node;
  const replica = await connect(r, node)
    .catch((err: Error) => {
      if (target.fallback === node) throw err;
      node = target.fallback;
      return connect(r, node);
    })
    .catch((err: Error) => {
      throw new OperatingError(`cannot reach ${nodeName(node)} of cluster ${r.file.clusterId}: ${err.message}`);
    });
  try {
    const reply = (await replica
      .request({ ...o.command, timeoutMs: o.timeoutMs }, o.timeoutMs + ANSWER_GRACE_MS)
      .catch((err: Error) => {
        throw new OutcomeError(
          `${unknownLead(o.command)} (${nodeName(node)}: ${err.message})`,
          'unknown',
          'no-answer',
          node,
        );
      })) as (ClientSuccess | (Omit<ClientFailure, 'error'> & { reason: string })) & { latencyMs: number };
    if (!reply.ok) {
      const text =
        reply.outcome === 'unknown'
          ? `${unknownLead(o.command)} (${nodeName(node)}: ${showLine(reply.reason)})`
          : `${showLine(reply.reason)} (${nodeName(node)})`;
      throw new OutcomeError(text, reply.outcome, reply.code, node);
    }
    return { ...reply, node };
  } finally {
    replica.close();
  }
}

function unknownLead(c: RemoteCommand): string {
  return c.op === 'propose'
    ? `outcome unknown: ${showText(`${c.key}=${c.value}`)} may still be chosen`
    : `no answer to get ${showText(c.key)}; a read changes nothing, so try again`;
}

/** `paxos status --cluster FILE`: each member's own status, or why it did not answer. */
export async function remoteStatus(clusterFile: string): Promise<{
  clusterId: string;
  replicas: { id: number; address: string; up: boolean; status?: unknown; error?: string }[];
}> {
  const r = openFile(clusterFile);
  const replicas = await Promise.all(
    [...r.file.members].map(async ([id, a]) => {
      const address = `${a.host}:${a.port}`;
      try {
        const client = await connect(r, id);
        try {
          const reply = (await client.request({ op: 'status' }, CONNECT_MS)) as { status?: unknown };
          return { id, address, up: true, status: reply.status };
        } finally {
          client.close();
        }
      } catch (err) {
        return { id, address, up: false, error: withTlsHint(r, err) };
      }
    }),
  );
  return { clusterId: r.file.clusterId, replicas };
}
