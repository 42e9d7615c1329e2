/**
 * `paxos logs node-2`: prints the last lines of a replica's log, reading
 * across its rotated files, and with -f keeps printing what is added, also
 * across a rotation that happens while it follows.
 */
import { existsSync } from 'node:fs';
import { logFileOf } from '../../cluster/home.js';
import { LogFollower, readLogTail, rotatedName } from '../../cluster/log-files.js';
import { nodeName } from '../../core/types.js';
import { OperatingError } from '../../errors.js';
import { showLine } from '../../text/escape.js';

export interface LogsOptions {
  readonly home: string;
  readonly node: number;
  /** Whether a cluster is running, for the sentence that explains a missing log. */
  readonly clusterRunning: boolean;
  readonly lines: number;
  readonly json: boolean;
  readonly out: (text: string) => void;
  /** When set, keep printing new lines until this settles. */
  readonly followUntil?: Promise<void>;
  readonly pollIntervalMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 200;

export async function runLogs(o: LogsOptions): Promise<void> {
  const file = logFileOf(o.home, o.node);
  if (!existsSync(file) && !existsSync(rotatedName(file, 1))) {
    throw new OperatingError(
      o.clusterRunning
        ? `${nodeName(o.node)} has no log yet (${file})`
        : `no cluster is running and ${nodeName(o.node)} left no log in ${o.home}; start one with \`paxos up\``,
    );
  }
  const render = o.json ? (text: string) => jsonLines(text, o.node) : printable;
  const tail = readLogTail({ file, lines: o.lines });
  if (o.followUntil === undefined) {
    // Not following, a last line without its newline (a process that died mid-write) is still shown, as a line of its own.
    o.out(render(tail.partial === '' ? tail.text : `${tail.text}${tail.partial}\n`));
    return;
  }
  o.out(render(tail.text));
  await follow(
    new LogFollower(file, tail.end),
    (text) => o.out(render(text)),
    o.followUntil,
    o.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
  );
}

/** Polls the follower every intervalMs and prints what it returns, until `until` settles. */
function follow(
  follower: LogFollower,
  print: (text: string) => void,
  until: Promise<void>,
  intervalMs: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const text = follower.poll();
      if (text !== '') print(text);
    }, intervalMs);
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    until.then(stop, stop);
  });
}

/** Each complete line of a log as one JSON object; the timestamp the replica wrote first becomes its own field. */
export function jsonLines(text: string, node: number): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT\S+Z) (.*)$/s.exec(l);
      return `${JSON.stringify({ node, time: m ? m[1] : null, text: m ? m[2] : l })}\n`;
    })
    .join('');
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
