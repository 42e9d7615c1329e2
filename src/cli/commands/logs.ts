import type { Command } from '@commander-js/extra-typings';
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
    .option('--json', 'print one JSON object per line: {"node":2,"time":"2026-…Z","text":"…"}')
    .action(async (name, opts) => {
      const home = paxosHome();
      // Without a running cluster the logs of the last one are still worth reading.
      const record = readRecord(home);
      const id = parseNodeName(name, record?.clusterSize);
      const file = logFileOf(home, id);
      if (!existsSync(file)) {
        throw new OperatingError(record === null ? `no cluster is running and node-${id} left no log in ${home}; start one with \`paxos up\`` : `node-${id} has no log yet (${file})`);
      }
      const render = opts.json ? (text: string) => jsonLines(text, id) : printable;
      let offset = printTail(file, opts.lines, render);
      if (!opts.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => { offset = printFrom(file, offset, render); }, 200);
        process.once('SIGINT', () => { clearInterval(timer); resolve(); });
      });
    });
}

type Render = (text: string) => string;

/** Each complete line of a log as one JSON object; the timestamp the replica wrote first becomes its own field. */
export function jsonLines(text: string, node: number): string {
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const m = /^(\d{4}-\d\d-\d\dT\S+Z) (.*)$/s.exec(l);
    return `${JSON.stringify({ node, time: m ? m[1] : null, text: m ? m[2] : l })}\n`;
  }).join('');
}

function printTail(file: string, lines: number, printable: Render): number {
  const size = statSync(file).size;
  const start = Math.max(0, size - lines * 400);
  const text = read(file, start, size);
  const all = text.split('\n');
  if (start > 0) all.shift();
  process.stdout.write(printable(all.slice(-lines - 1).join('\n')));
  return size;
}

/** Prints what was added since `offset`, up to the last complete line (a half-written line waits for the next poll). */
function printFrom(file: string, offset: number, printable: Render): number {
  const size = statSync(file).size;
  if (size < offset) return printFrom(file, 0, printable);
  if (size === offset) return size;
  const text = read(file, offset, size);
  const end = text.lastIndexOf('\n') + 1;
  if (end === 0) return offset;
  process.stdout.write(printable(text.slice(0, end)));
  return offset + Buffer.byteLength(text.slice(0, end));
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
