import type { Command } from 'commander';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { logFileOf, paxosHome } from '../../cluster/home.js';
import { readRecord } from '../../cluster/record.js';
import { OperatingError } from '../../errors.js';
import { showLine } from '../../text/escape.js';
import { parseIntFlag, parseNodeName } from '../parse.js';

export function registerLogs(program: Command): void {
  program.command('logs').description("print one replica's log; -f keeps following it").argument('<node>', 'node-2 or 2')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--lines <count>', 'how many of the last lines to print first', parseIntFlag('--lines', 1, 1_000_000), 50)
    .action(async (name: string, opts: { follow?: boolean; lines: number }) => {
      const home = paxosHome();
      // Without a running cluster the logs of the last one are still worth reading.
      const record = readRecord(home);
      const id = parseNodeName(name, record?.clusterSize);
      const file = logFileOf(home, id);
      if (!existsSync(file)) {
        throw new OperatingError(record === null ? `no cluster is running and node-${id} left no log in ${home}; start one with \`paxos up\`` : `node-${id} has no log yet (${file})`);
      }
      let offset = printTail(file, opts.lines);
      if (!opts.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => { offset = printFrom(file, offset); }, 200);
        process.once('SIGINT', () => { clearInterval(timer); resolve(); });
      });
    });
}

function printTail(file: string, lines: number): number {
  const size = statSync(file).size;
  const start = Math.max(0, size - lines * 400);
  const text = read(file, start, size);
  const all = text.split('\n');
  if (start > 0) all.shift();
  process.stdout.write(printable(all.slice(-lines - 1).join('\n')));
  return size;
}

function printFrom(file: string, offset: number): number {
  const size = statSync(file).size;
  if (size < offset) return printFrom(file, 0);
  if (size > offset) process.stdout.write(printable(read(file, offset, size)));
  return size;
}

/**
 * Log text with the newlines that end its lines kept and every other control
 * character escaped. Replicas escape the keys and values they log, so this
 * only changes a line that quotes something raw (or a log written before
 * they did), and that line then cannot move the cursor or recolour the reader's
 * terminal.
 */
export function printable(text: string): string {
  return text.split('\n').map(showLine).join('\n');
}

function read(file: string, from: number, to: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
