import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('attach the live dashboard to a running cluster (q leaves it running)')
    .action(async () => {
      if (!process.stdout.isTTY || !process.stdin.isTTY)
        throw new UsageError('the dashboard needs a terminal; use `paxos status` or `paxos up --plain` output instead');
      // Imported here, not at the top: Ink and React take half a second to load, and every other command would pay for them.
      const { attachDashboard } = await import('../services/dashboard.js');
      await attachDashboard();
    });
}
