/**
 * `paxos certs`: a test CA and per-node certificates for `paxos replica`'s
 * TLS (labs and tests; see services/certs.ts). The library that signs them
 * loads only when this command runs.
 */
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';

export function registerCerts(program: Command): void {
  program
    .command('certs')
    .description(
      'make a test CA and a certificate per node (naming paxos://CLUSTER_ID/node/N) plus a client certificate, for paxos replica --cert-file',
    )
    .requiredOption(
      '--out <dir>',
      'where to write ca.crt, ca.key, node-N.crt, node-N.key, client.crt and client.key (never overwritten)',
    )
    .requiredOption(
      '--cluster-id <id>',
      'the cluster the certificates belong to (the same as paxos replica --cluster-id)',
    )
    .option('--nodes <n>', 'how many node certificates: node-1 to node-N', (v) => count(v, '--nodes', 99), 3)
    .option(
      '--hosts <list>',
      'more DNS names and IP addresses, comma-separated, that every node certificate carries besides localhost and 127.0.0.1',
    )
    .option('--days <n>', 'how long the certificates are valid', (v) => count(v, '--days', 3650), 365)
    .option('--json', 'print the files written as JSON')
    .action(async (opts) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.clusterId))
        throw new UsageError(
          `--cluster-id is 1 to 64 letters, digits, dots, dashes or underscores, got "${opts.clusterId}"`,
        );
      const { makeCerts } = await import('../services/certs.js');
      const files = await makeCerts({
        out: opts.out,
        clusterId: opts.clusterId,
        nodes: opts.nodes,
        hosts: (opts.hosts ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter((h) => h !== ''),
        days: opts.days,
      });
      if (opts.json === true) process.stdout.write(`${JSON.stringify({ files })}\n`);
      else
        process.stdout.write(
          `wrote ${files.length} files to ${opts.out}: ${files.map((f) => f.slice(opts.out.length + 1)).join(' ')}\n`,
        );
    });
}

function count(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!/^\d{1,4}$/.test(text) || n < 1 || n > max)
    throw new UsageError(`${flag} takes a whole number from 1 to ${max}, got "${text}"`);
  return n;
}
