import type { Command } from '@commander-js/extra-typings';
import { parseClientTimeout, parseNodeName } from '../parse.js';

export function registerPropose(program: Command): void {
  program
    .command('propose')
    .description(
      'propose key=value and wait until a value is chosen; prints what was chosen, where, at which ballot, after how many round trips. Exit 0: chosen; 1: refused (known not chosen); 3: outcome unknown (it may still be chosen)',
    )
    .argument('<key=value>', 'for example x=7')
    .option('--via <node>', 'ask this replica (default: the leader, else the first replica up)', (v) =>
      parseNodeName(v),
    )
    .option(
      '--timeout <duration>',
      'how long to wait; the replica keeps trying until then (in step mode the default is 10m)',
      parseClientTimeout,
      5000,
    )
    .option('--json', 'print the result as JSON')
    .option(
      '--cluster <file>',
      'a cluster on other hosts, described by a cluster file (ids, addresses, token file): no orchestrator is asked',
    )
    .action(async (assignment, opts, cmd) => {
      const { describeResult, parseAssignment, printOutcome, runClientCommand, stepAwareTimeout } = await import(
        '../services/propose.js'
      );
      const timeoutMs = stepAwareTimeout(opts.timeout, cmd.getOptionValueSource('timeout') === 'default');
      const { key, value } = parseAssignment(assignment);
      await printOutcome({
        json: opts.json === true,
        describe: (r) => describeResult(r),
        proposed: value,
        run: async () =>
          opts.cluster !== undefined
            ? (await import('../remote.js')).runRemoteCommand({
                clusterFile: opts.cluster,
                command: { op: 'propose', key, value },
                timeoutMs,
                ...(opts.via !== undefined ? { via: opts.via } : {}),
              })
            : runClientCommand({
                command: { op: 'propose', key, value },
                timeoutMs,
                ...(opts.via !== undefined ? { via: opts.via } : {}),
              }),
      });
    });
}
