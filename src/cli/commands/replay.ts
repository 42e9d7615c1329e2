import type { Command } from '@commander-js/extra-typings';

export function registerReplay(program: Command, setExit: (code: number) => void): void {
  program
    .command('replay')
    .description(
      'replay a run recorded with paxos up --trace on fresh cores, checking every Ready against the recording and agreement across replicas',
    )
    .argument('<file>', 'the trace file given to paxos up --trace, or its .parts directory')
    .option('--json', 'print the report as JSON')
    .action(async (file, opts) => {
      const { runReplayCommand } = await import('../services/replay.js');
      setExit(runReplayCommand({ file, json: opts.json === true, out: (text) => process.stdout.write(text) }));
    });
}
