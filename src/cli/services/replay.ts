/**
 * The `paxos replay` service: reads a recorded run's input logs, replays
 * them (src/replay) and prints what it found: whether every Ready came out
 * as recorded, whether the checks across replicas held, and what was chosen.
 * Exit 0 when all of it holds, 1 at the first divergence or any violation; a
 * missing or damaged recording is an operating error, one sentence on stderr.
 */

import { nodeName } from '../../core/types.js';
import type { Divergence } from '../../replay/engine.js';
import { partsDirFor, readRecordings } from '../../replay/read.js';
import { type ReplayReport, replayRecordings } from '../../replay/replay.js';

export interface ReplayCommandOptions {
  readonly file: string;
  readonly json: boolean;
  /** Whole texts, each ending in a newline. */
  readonly out: (text: string) => void;
}

/** Chosen values listed in the human summary; --json lists them all. */
const CHOSEN_SHOWN = 50;

export function runReplayCommand(o: ReplayCommandOptions): number {
  const dir = partsDirFor(o.file);
  const report = replayRecordings(readRecordings(dir));
  o.out(o.json ? `${JSON.stringify({ dir, ...report })}\n` : `${describeReport(dir, report).join('\n')}\n`);
  return report.ok ? 0 : 1;
}

export function describeReport(dir: string, r: ReplayReport): string[] {
  const c = r.checks;
  const cut = r.incarnations.filter((i) => i.ending !== 'end').length;
  const identical =
    r.divergences.length === 0
      ? 'every Ready identical to the recording'
      : `${n(r.divergences.length, 'incarnation', 'incarnations')} diverged`;
  const lines = [
    ...r.divergences.map(describeDivergence),
    ...c.violations.map((v) => `VIOLATION ${v}`),
    `replayed ${dir}: ${r.protocol} paxos, ${r.replicas.length} replicas (${r.replicas.map((n) => nodeName(n)).join(', ')}), ${n(r.incarnations.length, 'incarnation', 'incarnations')}, ${r.steps} steps, ${r.readies} Readies: ${identical}`,
    `agreement ${c.violations.some((v) => v.startsWith('agreement')) ? 'VIOLATED' : 'holds'} on ${r.protocol === 'multi' ? n(c.chosen.length, 'slot', 'slots') : n(c.chosen.length, 'key', 'keys')}; ${c.messagesChecked} peer messages sent by their sender's replayed core${c.messagesUnverified > 0 ? ` (${c.messagesUnverified} unverifiable: their sender's log was cut short, or its replay stopped)` : ''}${c.messagesDuplicated > 0 ? `, ${c.messagesDuplicated} of them delivered more often than sent` : ''}; ${n(c.recoveriesChecked, 'restart', 'restarts')} recovered what was written before; ${n(c.repliesChecked, 'ok reply names', 'ok replies name')} a learned value`,
  ];
  if (cut > 0)
    lines.push(
      `${n(cut, 'incarnation log was', 'incarnation logs were')} cut short (killed, or capped): replayed as far as written`,
    );
  lines.push(`chosen (${c.chosen.length}):`);
  for (const e of c.chosen.slice(-CHOSEN_SHOWN))
    lines.push(
      `  ${r.protocol === 'multi' ? '#' : ''}${e.instance}  ${e.value}  (${e.nodes.map((n) => nodeName(n)).join(', ')})`,
    );
  if (c.chosen.length > CHOSEN_SHOWN)
    lines.push(`  … the first ${c.chosen.length - CHOSEN_SHOWN} are left out; --json lists them all`);
  lines.push(r.ok ? 'replay OK' : 'replay FAILED');
  return lines;
}

/** `1 restart`, `2 restarts`. */
function n(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function describeDivergence(d: Divergence): string {
  const what =
    d.error !== undefined ? `the core threw: ${d.error}` : `recorded digest ${d.recorded}, replayed ${d.replayed}`;
  return `DIVERGED ${nodeName(d.node)} incarnation ${d.incarnation} at Ready #${d.ready}, after step ${d.step} (${d.after}): ${what}`;
}
