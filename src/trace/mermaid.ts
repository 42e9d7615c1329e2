/**
 * A trace as a Mermaid `sequenceDiagram`, for pasting into a Markdown file,
 * an issue or mermaid.live. Mermaid draws messages as horizontal arrows in
 * the order they are written, so each message is written when it arrives
 * (`->>`) or is lost (`-x`); crashes, restarts, chosen values, partitions and
 * narration are notes. Persist events are left out: every promise and accept
 * is persisted, and one note for each would bury the messages.
 *
 * Trace text reaches Mermaid's parser, where `;` ends a statement, `#` starts
 * an entity and `<br>` breaks a line, so those characters are written as
 * Mermaid's numeric entities and control characters as visible escapes.
 */

import { type NodeId, nodeName } from '../core/types.js';
import { visibleText } from '../text/html.js';
import type { TraceEvent } from './format.js';
import { chosenText, messageLabel, selectWindow, type TraceWindow, type WindowOptions } from './window.js';

const ENTITY: Readonly<Record<string, string>> = {
  '#': '#35;',
  ';': '#59;',
  '<': '#60;',
  '>': '#62;',
  '&': '#38;',
  '%': '#37;',
};

/** Text that Mermaid shows as it is and never parses as syntax. */
export function mermaidText(text: string): string {
  return visibleText(text).replace(/[#;<>&%]/g, (c) => ENTITY[c] ?? c);
}

function participant(id: NodeId): string {
  return `n${id}`;
}

/** `Note over n1,n3` for the whole cluster; `Note over n1` for one replica. */
function overAll(w: TraceWindow): string {
  const first = w.nodes[0] ?? 1;
  const last = w.nodes.at(-1) ?? first;
  return first === last ? participant(first) : `${participant(first)},${participant(last)}`;
}

function line(e: TraceEvent, w: TraceWindow): string | undefined {
  switch (e.ev) {
    case 'deliver': {
      const s = w.sends.get(e.id);
      return s && `${participant(s.from)}->>${participant(s.to)}: ${mermaidText(messageLabel(s))}`;
    }
    case 'drop': {
      const s = w.sends.get(e.id);
      return (
        s && `${participant(s.from)}-x${participant(s.to)}: ${mermaidText(`${messageLabel(s)} (dropped: ${e.why})`)}`
      );
    }
    case 'crash':
      return `Note over ${participant(e.node)}: crash`;
    case 'restart':
      return `Note over ${participant(e.node)}: restart`;
    case 'chosen':
      return `Note over ${participant(e.node)}: ${mermaidText(`chosen ${chosenText(e.instance, e.value, 24)}${e.ballot !== undefined ? ` (${e.ballot})` : ''}`)}`;
    case 'partition':
      return `Note over ${overAll(w)}: ${mermaidText(`partition ${e.groups.map((g) => `{${g.join(',')}}`).join(' | ')}`)}`;
    case 'heal':
      return `Note over ${overAll(w)}: heal`;
    case 'note':
      return `Note over ${overAll(w)}: ${mermaidText(e.text)}`;
    default:
      return undefined;
  }
}

/** The trace (or the window the options pick) as Mermaid source, ending in a newline. */
export function renderMermaid(events: readonly TraceEvent[], o: WindowOptions = {}): string {
  const w = selectWindow(events, o);
  const out = ['sequenceDiagram', ...w.nodes.map((id) => `  participant ${participant(id)} as ${nodeName(id)}`)];
  if (w.partial) out.push(`  %% a window of ${w.events.length} of ${w.total} events`);
  for (const e of w.events) {
    const l = line(e, w);
    if (l !== undefined) out.push(`  ${l}`);
  }
  return `${out.join('\n')}\n`;
}
