/**
 * `paxos replica`: one replica on its own host, with no orchestrator. Its
 * peers come from --peers or --cluster-file at every start, so a replica
 * restarted by its supervisor (systemd, a StatefulSet, a shell loop) needs
 * nothing pushed to it. Its identity is its id; addresses are only where to
 * dial. The process is the replica (no child), so a supervisor's signals and
 * a container's pid 1 reach it directly.
 */
import { type Command, Option } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';

import type { ReplicaFlags } from '../services/replica-args.js';

export function registerReplica(program: Command): void {
  const command = program
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
        'new: may start from an empty directory (first start of a new cluster); existing: refuses one; recover: its data was lost or damaged, set it aside and recover (Multi-Paxos)',
      )
        .choices(['new', 'existing', 'recover'] as const)
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
    .option('--tick-ms <ms>', "the protocol's tick", (v) => positiveId(v));
  withTlsOptions(command).action(async (opts) => {
    // The replica's whole runtime (core, storage, transport, schemas) loads only here: every other command starts without it.
    const [{ exitCodeOf, main: runReplica }, { resolveReplicaArgs }] = await Promise.all([
      import('../../node/main.js'),
      import('../services/replica-args.js'),
    ]);
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

/** Mutual TLS (transport/tls.ts); the names follow etcd's client-side flags, as one port serves peers and clients. */
function withTlsOptions<C extends Command>(command: C): C {
  command
    .option(
      '--cert-file <file>',
      "this replica's TLS certificate (PEM): turns on wss:// for peers and clients; it must name paxos://CLUSTER_ID/node/ID (make one with `paxos certs`)",
    )
    .option('--key-file <file>', 'the private key of --cert-file (PEM, unencrypted; keep it mode 600)')
    .option(
      '--trusted-ca-file <file>',
      "the CA that signs every member's certificate (and clients' under --client-cert-auth); peers must present a certificate it signed naming their id",
    )
    .option(
      '--client-cert-auth',
      'clients (/control) must present a certificate signed by --trusted-ca-file too, besides their token; peers always must',
    );
  return command;
}

function positiveId(text: string): number {
  const n = Number(text);
  if (!/^\d{1,6}$/.test(text) || n < 1) throw new UsageError(`expected a positive integer, got "${text}"`);
  return n;
}
