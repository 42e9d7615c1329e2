/** The traces the trace tests share: the 000 walk-through as a file, and a small one with every kind of fault, built by the recorder. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace, type TraceEvent, TraceRecorder } from '../../src/trace/format.js';
import { repoRoot } from '../support/paths.js';

export const WALKTHROUGH_FILE = join(repoRoot(), 'test', 'trace', 'fixtures', 'walkthrough-000.jsonl');

export function walkthroughText(): string {
  return readFileSync(WALKTHROUGH_FILE, 'utf8');
}

export function walkthrough(): TraceEvent[] {
  return readTrace(walkthroughText(), 'walkthrough-000.jsonl');
}

/** Records with a tick clock the test moves by hand; returns the lines and the recorder. */
export function recording(): { lines: string[]; recorder: TraceRecorder; at: (tick: number) => void } {
  const lines: string[] = [];
  let tick = 0;
  const recorder = new TraceRecorder((l) => lines.push(l), { unit: 'tick', now: () => tick });
  return {
    lines,
    recorder,
    at: (t) => {
      tick = t;
    },
  };
}

/**
 * Three nodes and one of each fault: a dropped prepare, a crash and restart,
 * a partition and its heal, with a chosen value, and a value that needs
 * escaping in every output (`<&>"`).
 */
export function faulty(): TraceEvent[] {
  const { lines, recorder: r, at } = recording();
  r.note('node-1 leads; node-3 crashes');
  const a = r.send({ from: 1, to: 2, type: 'prepare', ballot: { round: 1, node: 1 } });
  const b = r.send({ from: 1, to: 3, type: 'prepare', ballot: { round: 1, node: 1 } });
  at(1);
  r.deliver(a, 2);
  r.drop(b, 'loss');
  r.crash(3);
  const c = r.send({ from: 2, to: 1, type: 'promise', ballot: { round: 1, node: 1 } });
  at(2);
  r.partition([[1, 2], [3]]);
  r.deliver(c, 1);
  r.chosen({ node: 1, instance: 0, value: 'x=<&>"', ballot: { round: 1, node: 1 } });
  at(3);
  r.heal();
  r.restart(3);
  return readTrace(lines.join('\n'), 'faulty');
}
