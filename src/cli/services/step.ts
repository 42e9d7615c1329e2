/**
 * `paxos held`, `deliver`, `drop` and `tick`: the hand on the network and the
 * clock of a cluster started with `paxos up --step`. Each asks the
 * orchestrator, which refuses in one sentence when the cluster is not in step
 * mode, and prints what it did in one line (or JSON).
 */
import { type HeldList, type TickResult, withCluster } from '../../cluster/client.js';
import { nodeName } from '../../core/types.js';
import { type HeldMessage, RELEASED, type StepRelease } from '../../node/step.js';
import { showText } from '../../text/escape.js';

export async function runHeld(json: boolean): Promise<void> {
  const list = await withCluster((c) => c.held());
  process.stdout.write(json ? `${JSON.stringify(list)}\n` : `${renderHeld(list)}\n`);
}

export async function runRelease(op: StepRelease, ids: readonly string[] | 'all', json: boolean): Promise<void> {
  const done = await withCluster((c) => c.release(op, ids));
  const verb = RELEASED[op];
  process.stdout.write(json ? `${JSON.stringify({ [verb]: done })}\n` : `${releasedLine(verb, done)}\n`);
}

export async function runTick(node: number | 'all', count: number, json: boolean): Promise<void> {
  const ticks = await withCluster((c) => c.tick(node, count));
  process.stdout.write(json ? `${JSON.stringify({ ticks })}\n` : `${tickLine(ticks, count)}\n`);
}

/** The held messages as a table, oldest first per holder; keys and values through showText (they are user text). */
export function renderHeld(list: HeldList): string {
  const lines: string[] = [];
  if (list.messages.length === 0) lines.push('nothing is held');
  else {
    const rows = [['ID', 'FROM', 'TO', 'TYPE', 'BALLOT', 'SLOT/KEY', 'VALUE']];
    for (const m of list.messages) {
      rows.push([
        m.id,
        nodeName(m.from),
        nodeName(m.to),
        m.type,
        m.ballot ?? '-',
        m.slot !== null ? `#${m.slot}` : m.key !== null ? showText(m.key) : '-',
        m.value !== null ? showText(m.value) : '-',
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      lines.push(
        r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      );
  }
  if (list.total > list.messages.length)
    lines.push(`... and ${list.total - list.messages.length} more held (each replica lists its first 1,000)`);
  if (list.droppedFull > 0)
    lines.push(
      `note: ${list.droppedFull} messages were dropped because a replica's hold queue was full (10,000 messages); deliver or drop some`,
    );
  if (list.down.length > 0) lines.push(`not listed: ${list.down.map((n) => nodeName(n)).join(', ')} (down or paused)`);
  return lines.join('\n');
}

/** `delivered 1:1 (node-1 → node-2 prepare (1.1) from #0)`, or `delivered 4 messages: 1:1, 1:2, 2:1, 3:1`. */
export function releasedLine(verb: string, done: readonly HeldMessage[]): string {
  if (done.length === 0) return `nothing was held, so nothing was ${verb}`;
  if (done.length === 1) return `${verb} ${done[0].id} (${done[0].text})`;
  const shown = done
    .slice(0, 10)
    .map((m) => m.id)
    .join(', ');
  return `${verb} ${done.length} messages: ${shown}${done.length > 10 ? `, +${done.length - 10} more` : ''}`;
}

/** `node-1 ticked 5 times: 2 new messages held (2 in all)`. */
export function tickLine(ticks: readonly TickResult[], count: number): string {
  const times = count === 1 ? 'once' : `${count} times`;
  const fresh = ticks.reduce((n, t) => n + t.newlyHeld, 0);
  const held = ticks.reduce((n, t) => n + t.held, 0);
  const who = ticks.length === 1 ? nodeName(ticks[0].node) : ticks.map((t) => nodeName(t.node)).join(', ');
  return `${who} ticked ${times}${ticks.length > 1 ? ' each' : ''}: ${fresh} new ${fresh === 1 ? 'message' : 'messages'} held (${held} held ${ticks.length > 1 ? 'in all' : 'there'})`;
}
