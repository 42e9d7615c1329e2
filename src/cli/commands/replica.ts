/**
 * `paxos replica`: one replica on its own host, with no orchestrator. Its
 * peers come from --peers or --cluster-file at every start, so a replica
 * restarted by its supervisor (systemd, a StatefulSet, a shell loop) needs
 * nothing pushed to it. Its identity is its id; addresses are only where to
 * dial. The process is the replica (no child), so a supervisor's signals and
 * a container's pid 1 reach it directly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from '@commander-js/extra-typings';
import { type Address, parseAddress, parsePeers, readClusterFile, readToken } from '../../cluster/cluster-file.js';
import { MAX_NODE_ID } from '../../core/membership.js';
import { UsageError } from '../../errors.js';
import { exitCodeOf, type ReplicaArgs, main as runReplica } from '../../node/main.js';
import { IDENTITY_FILE_NAME } from '../../storage/identity.js';
import { isWildcard } from '../../transport/host-policy.js';

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
  readonly initialState: 'new' | 'existing';
  readonly protocol?: 'multi' | 'basic';
  readonly allowedHost?: string[];
  readonly tickMs?: number;
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
    throw new UsageError(`the ordinal in ${hostname} makes node-${id}, beyond the largest id ${MAX_NODE_ID}`);
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
  const members = new Map<number, Address>(file?.members ?? parsePeers(f.peers ?? ''));
  const listen = parseAddress(f.listen, '--listen');
  if (listen.port === 0) throw new UsageError('--listen needs a fixed port: peers dial it');
  const advertise =
    f.advertise !== undefined
      ? parseAddress(f.advertise, '--advertise')
      : (members.get(id) ?? (isWildcard(listen.host) ? undefined : listen));
  if (advertise === undefined)
    throw new UsageError(
      `node-${id} listens on ${f.listen} and is not in the member list: give --advertise HOST:PORT, the address peers dial`,
    );
  if (!members.has(id)) members.set(id, advertise);
  if (f.initialState === 'existing' && !existsSync(join(f.data, IDENTITY_FILE_NAME))) {
    throw new ReplicaRefused(
      `--initial-state existing: node-${id}'s data directory ${f.data} holds no data (no ${IDENTITY_FILE_NAME}); ` +
        `a member whose data is lost may have forgotten its promises and comes back only as a new member (\`paxos replace node-${id}\`); use --initial-state new only when the cluster is first created`,
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
    orchestratorPort: 0,
    orchestratorPid: 0,
    secret: tokens.peer,
    tickMs: f.tickMs ?? 10,
    snapshotEverySlots: undefined,
    clusterId,
    expectData: f.initialState === 'existing',
    contacts: joining ? [...members.keys()].filter((m) => m !== id) : undefined,
    traceFile: undefined,
    step: false,
    tuning: undefined,
    standalone: {
      ...(tokens.admin !== undefined ? { adminSecret: tokens.admin } : {}),
      ...(tokens.client !== undefined ? { clientSecret: tokens.client } : {}),
      peers: members,
      advertise,
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

/** A data directory the replica must not start from (exit 5, as an orchestrated replica's refusal). */
class ReplicaRefused extends Error {
  override readonly name = 'IdentityError';
}

export function registerReplica(program: Command): void {
  program
    .command('replica')
    .description(
      'run one replica on this host with no orchestrator: its peers come from --peers or --cluster-file at every start',
    )
    .option('--id <n>', "this replica's id (its identity; addresses are only where to dial)", (v) => positiveId(v))
    .option('--id-from-ordinal', 'take the id from a StatefulSet pod name in HOSTNAME: paxos-0 is node-1')
    .requiredOption('--listen <host:port>', 'what to bind (0.0.0.0 allowed)')
    .option(
      '--advertise <host:port>',
      "what peers and clients dial (a DNS name allowed); default: this id's address in the member list",
    )
    .option('--peers <list>', 'the members, 1=host:port,2=host:port,... (this replica included)')
    .option(
      '--cluster-file <file>',
      "a JSON file of the cluster id, its members' ids and addresses, and the token file",
    )
    .option('--cluster-id <id>', 'the cluster this replica belongs to; peers of another cluster are refused')
    .option('--token-file <file>', 'a file holding the cluster secret (peers, administrators and clients alike)')
    .option('--peer-token-file <file>', 'the secret peers present to each other (instead of --token-file)')
    .option(
      '--admin-token-file <file>',
      "the administrators' token: every request, faults, crash, freeze and membership included; the peer token then opens peer links only",
    )
    .option('--client-token-file <file>', "the clients' token: propose, get and status only, never faults or crash")
    .requiredOption('--data <dir>', "this replica's data directory")
    .addOption(
      new Option(
        '--initial-state <state>',
        'new: may start from an empty directory (first start of a new cluster); existing: refuses one',
      )
        .choices(['new', 'existing'] as const)
        .default('new' as const),
    )
    .addOption(
      new Option('--protocol <protocol>', "multi or basic (default: the cluster file's, else multi)").choices([
        'multi',
        'basic',
      ] as const),
    )
    .option(
      '--allowed-host <name...>',
      'more names (or name:port) peers and clients may dial this replica by, beyond --listen and --advertise',
    )
    .option('--tick-ms <ms>', "the protocol's tick", (v) => positiveId(v))
    .action(async (opts) => {
      try {
        await runReplica(resolveReplicaArgs(opts as ReplicaFlags));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        const code = (err as NodeJS.ErrnoException | null)?.code;
        const text =
          code === 'EADDRINUSE'
            ? `${opts.listen} is busy: another process listens there; give this replica another --listen port, or stop that process`
            : code === 'EADDRNOTAVAIL'
              ? `${opts.listen} is not an address of this host; --listen takes one of its addresses or 0.0.0.0`
              : err instanceof Error
                ? err.message
                : String(err);
        process.stderr.write(`paxos: ${text}\n`);
        process.exit(exitCodeOf(err));
      }
    });
}

function positiveId(text: string): number {
  const n = Number(text);
  if (!/^\d{1,6}$/.test(text) || n < 1) throw new UsageError(`expected a positive integer, got "${text}"`);
  return n;
}
