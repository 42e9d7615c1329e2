import type { Command } from '@commander-js/extra-typings';
import { DEFAULT_MAX_EVENTS } from '../../trace/defaults.js';
import { parseIntFlag } from '../parse.js';

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description(
      'draw a trace (JSON lines) as a space-time SVG, a Mermaid sequence diagram or a ShiViz log; without an output flag, summarize it',
    )
    .argument('<file>', 'the trace file, or - for stdin')
    .option('--svg <out>', 'write a space-time diagram (SVG) to this file, or - for stdout')
    .option('--mermaid <out>', 'write a Mermaid sequenceDiagram to this file, or - for stdout')
    .option('--shiviz <out>', 'write a ShiViz log (regex on the first line) to this file, or - for stdout')
    .option('--from <seq>', 'start the window at this seq', parseIntFlag('--from', 0, Number.MAX_SAFE_INTEGER))
    .option('--to <seq>', 'end the window at this seq', parseIntFlag('--to', 0, Number.MAX_SAFE_INTEGER))
    .option(
      '--max-events <count>',
      'at most this many events in the SVG and Mermaid diagrams',
      parseIntFlag('--max-events', 1, 1_000_000),
      DEFAULT_MAX_EVENTS,
    )
    .option('--json', 'print the summary as JSON')
    .action(async (file, opts) => {
      const { runTraceCommand } = await import('../services/trace.js');
      runTraceCommand({
        file,
        maxEvents: opts.maxEvents,
        json: opts.json === true,
        ...(opts.svg !== undefined ? { svg: opts.svg } : {}),
        ...(opts.mermaid !== undefined ? { mermaid: opts.mermaid } : {}),
        ...(opts.shiviz !== undefined ? { shiviz: opts.shiviz } : {}),
        ...(opts.from !== undefined ? { fromSeq: opts.from } : {}),
        ...(opts.to !== undefined ? { toSeq: opts.to } : {}),
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
      });
    });
}
