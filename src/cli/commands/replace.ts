import type { Command } from '@commander-js/extra-typings';
import { parseDurationMs, parseNodeName } from '../parse.js';

export function registerReplace(program: Command): void {
  program
    .command('replace')
    .description(
      'replace a voter whose disk is gone: remove it, then add a fresh replica with a new id (a wiped replica never rejoins under its old one)',
    )
    .argument('<node>', 'node-3 or 3')
    .option(
      '--timeout <duration>',
      'how long each step (the removal, the catch-up, the addition) may take',
      parseDurationMs('--timeout'),
      30_000,
    )
    .option('--json', 'print {"ok":true,"op":"replace","removed":{…},"added":{…}}')
    .action(async (name, opts) => {
      const node = parseNodeName(name);
      const [{ printChange }, { runReplace }] = await Promise.all([
        import('../services/membership.js'),
        import('../../cluster/membership-changes.js'),
      ]);
      await printChange(opts.json === true, (report) => runReplace({ node, timeoutMs: opts.timeout, report }));
    });
}
