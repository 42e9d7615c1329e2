/**
 * A trace as a ShiViz log (https://bestchai.bitbucket.io/shiviz/), which
 * draws a space-time diagram from vector clocks alone and lets a reader ask
 * which events happened before which. The file starts with the two lines
 * ShiViz reads from an uploaded log: the regular expression that parses each
 * line, and the (empty) delimiter between executions. To paste the log
 * instead, put the first line in ShiViz's regular-expression box and the rest
 * in the log box.
 *
 * Each event of a replica is one line: `node-2 {"node-1":1,"node-2":2} send
 * promise 1.1 x to node-1`. The clock is computed the textbook way: a replica
 * ticks its own entry at each of its events, and a delivery first takes the
 * entry-wise maximum with the sender's clock at the send. ShiViz wants each
 * replica's own entry to start at 1, so a window is clocked on its own, and a
 * delivery whose send lies before the window is a local event.
 */

import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { visibleText } from '../text/html.js';
import type { TraceEvent } from './format.js';
import { chosenText, messageLabel, selectWindow, type WindowOptions } from './window.js';

/** The parsing expression, in ShiViz's named-group syntax; the clock has no nested braces, so it ends at the first `}`. */
export const SHIVIZ_REGEX = '(?<host>\\S+) (?<clock>\\{[^}]*\\}) (?<event>.*)';

export type VectorClock = ReadonlyMap<NodeId, number>;

export interface ShivizLine {
  readonly node: NodeId;
  readonly clock: VectorClock;
  readonly event: string;
}

/** `{"node-1":2,"node-3":1}`, entries in node order so equal clocks give equal text. */
export function formatClock(clock: VectorClock): string {
  const entries = [...clock.entries()].sort((a, b) => a[0] - b[0]);
  return `{${entries.map(([id, t]) => `"${nodeName(id)}":${t}`).join(',')}}`;
}

/** What a replica did, in words, or undefined for events that belong to no replica (drops, partitions, notes). */
function localEvent(
  e: TraceEvent,
  sent: ReadonlyMap<number, Extract<TraceEvent, { ev: 'send' }>>,
): { node: NodeId; event: string } | undefined {
  switch (e.ev) {
    case 'send':
      return { node: e.from, event: `send ${messageLabel(e)} to ${nodeName(e.to)}` };
    case 'deliver': {
      const s = sent.get(e.id);
      return {
        node: e.to,
        event: s ? `receive ${messageLabel(s)} from ${nodeName(s.from)}` : `receive message ${e.id}`,
      };
    }
    case 'crash':
    case 'restart':
      return { node: e.node, event: e.ev };
    case 'persist':
      return { node: e.node, event: `persist ${e.what}` };
    case 'chosen':
      return {
        node: e.node,
        event: `chosen ${chosenText(e.instance, e.value)}${e.ballot !== undefined ? ` (${e.ballot})` : ''}`,
      };
    default:
      return undefined;
  }
}

/** The vector clock of every replica event in the window, in order. */
export function vectorClocks(events: readonly TraceEvent[], o: WindowOptions = {}): ShivizLine[] {
  const w = selectWindow(events, o);
  const clocks = new Map<NodeId, Map<NodeId, number>>();
  const atSend = new Map<number, VectorClock>();
  const lines: ShivizLine[] = [];
  for (const e of w.events) {
    const local = localEvent(e, w.sends);
    if (local === undefined) continue;
    const clock = clocks.get(local.node) ?? new Map<NodeId, number>();
    clocks.set(local.node, clock);
    const sender = e.ev === 'deliver' ? atSend.get(e.id) : undefined;
    for (const [id, t] of sender ?? []) clock.set(id, Math.max(clock.get(id) ?? 0, t));
    clock.set(local.node, (clock.get(local.node) ?? 0) + 1);
    const snapshot = new Map(clock);
    if (e.ev === 'send') atSend.set(e.id, snapshot);
    lines.push({ node: local.node, clock: snapshot, event: local.event });
  }
  return lines;
}

/** The log file: the expression, the empty execution delimiter, then one line per replica event. */
export function renderShiviz(events: readonly TraceEvent[], o: WindowOptions = {}): string {
  const body = vectorClocks(events, o).map(
    (l) => `${nodeName(l.node)} ${formatClock(l.clock)} ${visibleText(l.event)}`,
  );
  return `${[SHIVIZ_REGEX, '', ...body].join('\n')}\n`;
}
