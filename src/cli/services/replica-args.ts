/**
 * `paxos replica`'s flags as the replica's arguments (the command in
 * commands/replica.ts loads this only when it runs, with the replica).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Address,
  forNode,
  parseAddress,
  parsePeers,
  readClusterFile,
  readPem,
  readToken,
} from '../../cluster/cluster-file.js';
import { MAX_NODE_ID } from '../../core/membership.js';
import { nodeName } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import type { ReplicaArgs } from '../../node/main.js';
import { IDENTITY_FILE_NAME } from '../../storage/identity.js';
import { isWildcard } from '../../transport/host-policy.js';
import { checkOwnCertificate, type ServerTls } from '../../transport/tls.js';

export interface ReplicaFlags {
  readonly id?: number;
  readonly idFromOrdinal?: boolean;
  readonly listen: string;
  readonly advertise?: string;
  readonly peers?: string;
  readonly clusterFile?: string;
  readonly clusterId?: string;
  readonly tokenFile?: string;
  readonly peerTokenFile?: string;
  readonly adminTokenFile?: string;
  readonly clientTokenFile?: string;
  readonly data: string;
  readonly initialState: 'new' | 'existing' | 'recover';
  readonly protocol?: 'multi' | 'basic';
  readonly allowedHost?: string[];
  readonly tickMs?: number;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly trustedCaFile?: string;
  readonly clientCertAuth?: boolean;
}

/** A StatefulSet pod's name ends in its ordinal, from 0: `paxos-2` is node-3. */
export function idFromOrdinal(hostname: string | undefined): number {
  const m = /-(\d{1,5})$/.exec(hostname ?? '');
  if (m === null)
    throw new UsageError(
      `--id-from-ordinal needs HOSTNAME to end in a StatefulSet ordinal like paxos-0, got "${hostname ?? ''}"`,
    );
  const id = Number(m[1]) + 1;
  if (id > MAX_NODE_ID)
    throw new UsageError(`the ordinal in ${hostname} makes ${nodeName(id)}, beyond the largest id ${MAX_NODE_ID}`);
  return id;
}

/** The flags as the replica's arguments; every mistake is one sentence. */
export function resolveReplicaArgs(f: ReplicaFlags, env: NodeJS.ProcessEnv = process.env): ReplicaArgs {
  if ((f.id === undefined) === (f.idFromOrdinal !== true))
    throw new UsageError('give exactly one of --id N and --id-from-ordinal');
  const id = f.id ?? idFromOrdinal(env.HOSTNAME);
  if ((f.peers === undefined) === (f.clusterFile === undefined))
    throw new UsageError('give exactly one of --peers and --cluster-file');
  const file = f.clusterFile !== undefined ? readClusterFile(f.clusterFile) : undefined;
  const clusterId = f.clusterId ?? file?.clusterId;
  if (clusterId === undefined) throw new UsageError('--peers needs --cluster-id (a cluster file names its own)');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId))
    throw new UsageError(`--cluster-id is 1 to 64 letters, digits, dots, dashes or underscores, got "${clusterId}"`);
  if (file !== undefined && f.clusterId !== undefined && f.clusterId !== file.clusterId) {
    throw new UsageError(`--cluster-id ${f.clusterId} is not the cluster file's ${file.clusterId}`);
  }
  const tokens = resolveTokens(f, file);
  const tls = resolveTls(f, file, { id, clusterId });
  const members = new Map<number, Address>(file?.members ?? parsePeers(f.peers ?? ''));
  const listen = parseAddress(f.listen, '--listen');
  if (listen.port === 0) throw new UsageError('--listen needs a fixed port: peers dial it');
  const advertise =
    f.advertise !== undefined
      ? parseAddress(f.advertise, '--advertise')
      : (members.get(id) ?? (isWildcard(listen.host) ? undefined : listen));
  if (advertise === undefined)
    throw new UsageError(
      `${nodeName(id)} listens on ${f.listen} and is not in the member list: give --advertise HOST:PORT, the address peers dial`,
    );
  if (!members.has(id)) members.set(id, advertise);
  if (f.initialState === 'existing' && !existsSync(join(f.data, IDENTITY_FILE_NAME))) {
    throw new ReplicaRefused(
      `--initial-state existing: ${nodeName(id)}'s data directory ${f.data} holds no data (no ${IDENTITY_FILE_NAME}); ` +
        `a member whose data is lost may have forgotten its promises: start it with --initial-state recover (Multi-Paxos: it votes again once re-admitted) or replace it (\`paxos replace ${nodeName(id)}\`); use --initial-state new only when the cluster is first created`,
    );
  }
  // A member added later starts as a learner: it asks the others for catch-up until its own log makes it a voter.
  const joining = file?.joined.has(id) === true || (file !== undefined && !file.members.has(id));
  return {
    id,
    clusterSize: file?.bootstrapSize ?? members.size,
    protocol: f.protocol ?? file?.protocol ?? 'multi',
    host: listen.host,
    port: listen.port,
    dataDir: f.data,
    orchestratorSocket: '',
    orchestratorPid: 0,
    secret: tokens.peer,
    tickMs: f.tickMs ?? 10,
    snapshotEverySlots: undefined,
    clusterId,
    expectData: f.initialState === 'existing',
    recoverLostDisk: f.initialState === 'recover',
    contacts: joining ? [...members.keys()].filter((m) => m !== id) : undefined,
    traceFile: undefined,
    step: false,
    tuning: undefined,
    standalone: {
      ...(tokens.admin !== undefined ? { adminSecret: tokens.admin } : {}),
      ...(tokens.client !== undefined ? { clientSecret: tokens.client } : {}),
      peers: members,
      advertise,
      ...(tls !== undefined ? { tls } : {}),
      allowedHosts: (f.allowedHost ?? [])
        .flatMap((h) => h.split(','))
        .map((h) => h.trim())
        .filter((h) => h !== ''),
    },
  };
}

/**
 * The three credentials: peers (/peer), administrators (every /control
 * request) and clients (propose, get, status). One --token-file is all
 * three, as before; an admin token makes the peer token open /peer only;
 * without a client token, clients use the admin token.
 */
function resolveTokens(
  f: ReplicaFlags,
  file: ReturnType<typeof readClusterFile> | undefined,
): { peer: string; admin?: string; client?: string } {
  const peerFile = f.peerTokenFile ?? f.tokenFile ?? file?.tokenFile;
  if (peerFile === undefined)
    throw new UsageError(
      'the cluster secret comes from a file: give --token-file FILE or --peer-token-file FILE (or tokenFile in the cluster file)',
    );
  const peer = readToken(peerFile);
  const adminFile = f.adminTokenFile ?? file?.adminTokenFile;
  const clientFile = f.clientTokenFile ?? file?.clientTokenFile;
  const admin = adminFile === undefined ? undefined : readToken(adminFile);
  const client = clientFile === undefined ? undefined : readToken(clientFile);
  if (admin !== undefined && admin === peer)
    throw new UsageError('the admin token must differ from the peer token, or a peer could administer the cluster');
  if (client !== undefined && (client === peer || client === (admin ?? peer)))
    throw new UsageError(
      'the client token must differ from the peer and admin tokens, or a client could partition or crash the cluster',
    );
  return { peer, ...(admin !== undefined ? { admin } : {}), ...(client !== undefined ? { client } : {}) };
}

/**
 * TLS from the flags, else from the cluster file's tls section (its
 * `{id}` replaced by this replica's id). The three files come together or
 * not at all: a replica that serves wss:// also checks every peer against
 * the CA, and there is no TLS without the peer check (unlike etcd, whose
 * --peer-client-cert-auth is off by default).
 */
function resolveTls(
  f: ReplicaFlags,
  file: ReturnType<typeof readClusterFile> | undefined,
  self: { id: number; clusterId: string },
): ServerTls | undefined {
  const fromFile = file?.tls;
  const cert = f.certFile ?? (fromFile?.certFile !== undefined ? forNode(fromFile.certFile, self.id) : undefined);
  const key = f.keyFile ?? (fromFile?.keyFile !== undefined ? forNode(fromFile.keyFile, self.id) : undefined);
  const ca = f.trustedCaFile ?? fromFile?.caFile;
  const clientCertAuth = f.clientCertAuth === true || fromFile?.clientCertAuth === true;
  if (cert === undefined && key === undefined && ca === undefined) {
    if (clientCertAuth)
      throw new UsageError('--client-cert-auth needs TLS: give --cert-file, --key-file and --trusted-ca-file');
    return undefined;
  }
  if (cert === undefined || key === undefined || ca === undefined)
    throw new UsageError(
      'TLS takes three files together: --cert-file, --key-file and --trusted-ca-file (or tls.certFile, tls.keyFile and tls.caFile in the cluster file)',
    );
  const certText = readPem(cert, 'certificate');
  const problem = checkOwnCertificate({ cert: certText, clusterId: self.clusterId, node: self.id, file: cert });
  if (problem !== null) throw new UsageError(problem);
  return {
    cert: certText,
    key: readPem(key, 'private key'),
    ca: readPem(ca, 'CA certificate'),
    clusterId: self.clusterId,
    clientCertAuth,
  };
}

/** A data directory the replica must not start from (exit 5, as an orchestrated replica's refusal). */
class ReplicaRefused extends Error {
  override readonly name = 'IdentityError';
}
