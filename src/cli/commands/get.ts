import type { Command } from '@commander-js/extra-typings';
import { parseClientTimeout, parseNodeName } from '../parse.js';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('read a key, linearizably: the read goes through consensus like a write')
    .argument('<key>')
    .option('--via <node>', 'ask this replica', (v) => parseNodeName(v))
    .option('--timeout <duration>', 'give up after this long', parseClientTimeout, 5000)
    .option('--json', 'print the result as JSON')
    .option(
      '--cluster <file>',
      'a cluster on other hosts, described by a cluster file (ids, addresses, token file): no orchestrator is asked',
    )
    .action(async (key, opts, cmd) => {
      const { checkKey, describeResult, printOutcome, runClientCommand, stepAwareTimeout } = await import(
        '../services/propose.js'
      );
      const timeoutMs = stepAwareTimeout(opts.timeout, cmd.getOptionValueSource('timeout') === 'default');
      checkKey(key, true);
      await printOutcome({
        json: opts.json === true,
        describe: (r) => describeResult(r),
        run: async () =>
          opts.cluster !== undefined
            ? (await import('../remote.js')).runRemoteCommand({
                clusterFile: opts.cluster,
                command: { op: 'get', key },
                timeoutMs,
                ...(opts.via !== undefined ? { via: opts.via } : {}),
              })
            : runClientCommand({
                command: { op: 'get', key },
                timeoutMs,
                ...(opts.via !== undefined ? { via: opts.via } : {}),
              }),
      });
    });
}
