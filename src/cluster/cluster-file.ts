/**
 * A cluster of replicas on separate hosts, described in one JSON file that
 * every replica and every client reads at start (nothing is pushed to a
 * replica; a restarted one reads the file again):
 *
 *   {
 *     "clusterId": "prod-1",
 *     "protocol": "multi",
 *     "tokenFile": "secret.token",
 *     "members": [
 *       { "id": 1, "address": "paxos-0.paxos:7001" },
 *       { "id": 2, "address": "10.0.0.12:7001" }
 *     ]
 *   }
 *
 * A member's identity is its id; its address is only where to dial it.
 * `tokenFile` (or `tokens.peer`) is a file holding the cluster's secret;
 * `tokens.admin` and `tokens.client` name separate credentials for
 * administrators (faults, crash, membership) and clients (propose, get,
 * status). A client's copy of the file need name only `tokens.client`.
 *
 * `tls` turns on wss:// (transport/tls.ts): `caFile` is the CA every
 * replica and client trusts; `certFile` and `keyFile` are a replica's own,
 * where `{id}` stands for the replica's id (`certs/node-{id}.crt`), so one
 * file serves every member; `clientCertFile` and `clientKeyFile` are what
 * the CLI presents; `clientCertAuth` makes replicas require a client
 * certificate on /control too (peers always need theirs).
 * Relative paths are relative to the cluster file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { MAX_NODE_ID } from '../core/membership.js';
import { nodeName } from '../core/types.js';
import { UsageError } from '../errors.js';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface ClusterFile {
  readonly clusterId: string;
  readonly protocol: 'multi' | 'basic';
  readonly members: ReadonlyMap<number, Address>;
  /**
   * Members marked `"joined": true` were added (`paxos add`) after the
   * cluster was created: each starts as a learner. The others are the
   * bootstrap voters, node-1 to node-bootstrapSize, the configuration every
   * replica's log starts from; it never changes, so a member is never
   * deleted from the file (a removed one stays; its id is spent).
   */
  readonly joined: ReadonlySet<number>;
  readonly bootstrapSize: number;
  /** Absolute path of the file holding the secret peers present; undefined if the file names none. */
  readonly tokenFile: string | undefined;
  /** Absolute paths of the administrators' and the clients' token files, when the cluster separates them. */
  readonly adminTokenFile: string | undefined;
  readonly clientTokenFile: string | undefined;
  /** Absolute paths of the TLS files (certFile and keyFile may hold `{id}`); undefined: ws://, no TLS. */
  readonly tls: ClusterTlsFiles | undefined;
}

export interface ClusterTlsFiles {
  readonly caFile: string;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly clientCertFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  readonly clientCertAuth: boolean;
}

const path = v.pipe(v.string(), v.nonEmpty());

const Schema = v.object({
  clusterId: v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'a cluster id is 1 to 64 letters, digits, dots, dashes or underscores'),
  ),
  protocol: v.optional(v.picklist(['multi', 'basic'])),
  tokenFile: v.optional(v.pipe(v.string(), v.nonEmpty())),
  tokens: v.optional(
    v.object({
      peer: v.optional(v.pipe(v.string(), v.nonEmpty())),
      admin: v.optional(v.pipe(v.string(), v.nonEmpty())),
      client: v.optional(v.pipe(v.string(), v.nonEmpty())),
    }),
  ),
  tls: v.optional(
    v.strictObject({
      caFile: path,
      certFile: v.optional(path),
      keyFile: v.optional(path),
      clientCertFile: v.optional(path),
      clientKeyFile: v.optional(path),
      clientCertAuth: v.optional(v.boolean()),
    }),
  ),
  members: v.pipe(
    v.array(
      v.object({
        id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NODE_ID)),
        address: v.string(),
        joined: v.optional(v.boolean()),
      }),
    ),
    v.minLength(1),
  ),
});

/** `host:port`, `[v6]:port`; the host may be a DNS name. */
export function parseAddress(text: string, what: string): Address {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !(port >= 0 && port <= 65535))
    throw new UsageError(`${what} must be HOST:PORT (a name, an IPv4 address or [IPv6]), got "${text}"`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** `1=host:port,2=host:port`: the members by id. */
export function parsePeers(text: string): Map<number, Address> {
  const peers = new Map<number, Address>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const id = eq > 0 ? Number(part.slice(0, eq).replace(/^node-/, '')) : Number.NaN;
    if (!Number.isInteger(id) || id < 1 || id > MAX_NODE_ID)
      throw new UsageError(
        `--peers takes ID=HOST:PORT entries separated by commas, with ids from 1 to ${MAX_NODE_ID}; got "${part}"`,
      );
    if (peers.has(id)) throw new UsageError(`--peers names ${nodeName(id)} twice`);
    peers.set(id, parseAddress(part.slice(eq + 1), `--peers' address of ${nodeName(id)}`));
  }
  if (peers.size === 0) throw new UsageError('--peers names no member');
  return peers;
}

export function readClusterFile(file: string): ClusterFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new UsageError(`cannot read the cluster file ${file}: ${(err as Error).message}`);
  }
  const parsed = v.safeParse(Schema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new UsageError(
      `the cluster file ${file} is not valid${where !== '' ? ` at ${where}` : ''}: ${issue.message}`,
    );
  }
  const members = new Map<number, Address>();
  for (const m of parsed.output.members) {
    if (members.has(m.id)) throw new UsageError(`the cluster file ${file} names ${nodeName(m.id)} twice`);
    members.set(m.id, parseAddress(m.address, `the cluster file's address of ${nodeName(m.id)}`));
  }
  const joined = new Set(parsed.output.members.filter((m) => m.joined === true).map((m) => m.id));
  const bootstrapSize = members.size - joined.size;
  for (let id = 1; id <= bootstrapSize; id++)
    if (!members.has(id) || joined.has(id))
      throw new UsageError(
        `the cluster file ${file}'s bootstrap members (those not marked joined) must be node-1 to ${nodeName(bootstrapSize)}; ${nodeName(id)} is missing or marked joined`,
      );
  const token = parsed.output.tokens?.peer ?? parsed.output.tokenFile;
  const at = (path: string | undefined) => (path === undefined ? undefined : resolve(dirname(file), path));
  return {
    clusterId: parsed.output.clusterId,
    protocol: parsed.output.protocol ?? 'multi',
    members,
    joined,
    bootstrapSize,
    tokenFile: at(token),
    adminTokenFile: at(parsed.output.tokens?.admin),
    clientTokenFile: at(parsed.output.tokens?.client),
    tls: tlsFiles(parsed.output.tls, at),
  };
}

function tlsFiles(
  t: v.InferOutput<typeof Schema>['tls'],
  at: (path: string | undefined) => string | undefined,
): ClusterTlsFiles | undefined {
  if (t === undefined) return undefined;
  return {
    caFile: at(t.caFile) ?? t.caFile,
    certFile: at(t.certFile),
    keyFile: at(t.keyFile),
    clientCertFile: at(t.clientCertFile),
    clientKeyFile: at(t.clientKeyFile),
    clientCertAuth: t.clientCertAuth === true,
  };
}

/** A PEM file's text, or one sentence saying why it cannot be read. */
export function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`the ${what} ${file} is not PEM (no -----BEGIN line)`);
  return text;
}

/** `certs/node-{id}.crt` for node 3 is `certs/node-3.crt`. */
export function forNode(file: string, id: number): string {
  return file.replaceAll('{id}', String(id));
}

/**
 * What a client of the cluster (the CLI, `paxos check --cluster`) needs for
 * wss://: the CA, and its own certificate if the file names one.
 */
export function clientTlsOf(
  file: ClusterFile,
): { ca: string; cert?: string; key?: string; clusterId: string } | undefined {
  const t = file.tls;
  if (t === undefined) return undefined;
  if ((t.clientCertFile === undefined) !== (t.clientKeyFile === undefined))
    throw new UsageError(
      'the cluster file names one of tls.clientCertFile and tls.clientKeyFile; give both or neither',
    );
  return {
    ca: readPem(t.caFile, 'CA certificate'),
    clusterId: file.clusterId,
    ...(t.clientCertFile !== undefined && t.clientKeyFile !== undefined
      ? { cert: readPem(t.clientCertFile, 'client certificate'), key: readPem(t.clientKeyFile, 'client key') }
      : {}),
  };
}

/** The secret in a token file: its first line, which must not be empty. */
export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the token file ${file}: ${(err as Error).message}`);
  }
  const token = text.split('\n')[0].trim();
  if (token === '') throw new UsageError(`the token file ${file} is empty`);
  return token;
}
