/**
 * Step mode's held messages, one a line, oldest first per holder, with a
 * cursor on the one the step keys act on:
 *   › 1:3  node-1 → node-2  accept  1.1  #1  x=7
 * Nothing moves in step mode until the user says so, so this list replaces
 * the message flow, which would only ever show the same stale lines.
 */
import { Box, Text, type TextProps } from 'ink';
import { nodeName } from '../core/types.js';
import type { HeldMessage } from '../node/step.js';
import { showLine, showText } from '../text/escape.js';
import { Rule } from './rule.js';
import { fit, paint } from './text.js';

export interface HeldListProps {
  /** As the replicas listed them; a replica lists at most a thousand. */
  readonly messages: readonly HeldMessage[];
  /** Held in all, which is more than listed when a replica's list was capped. */
  readonly total: number;
  /** Index into `messages` of the selected message; clamped into the list. */
  readonly cursor: number;
  /** Why the latest read of the held messages failed, or null; the list shown is then the last one read. */
  readonly error: string | null;
  readonly width: number;
  /** Content lines below the title. */
  readonly lines: number;
  readonly color: boolean;
}

/** A key can be as long as a user likes; past this it is cut so the value column keeps some room. */
const MAX_KEY_COLUMN = 16;
const MARKER = '› ';
const NO_MARKER = '  ';

/** The slice of the list on screen, and how many messages lie above and below it. */
export interface HeldWindow {
  readonly start: number;
  readonly end: number;
  readonly above: number;
  readonly below: number;
}

/**
 * Which messages fit in `lines`, keeping the cursor in view and roughly
 * centred. When not all fit, one line is kept for the "+N more" note, so
 * the user can tell the list goes on.
 */
export function heldWindow(count: number, lines: number, cursor: number): HeldWindow {
  if (count <= lines) return { start: 0, end: count, above: 0, below: 0 };
  const visible = Math.max(1, lines - 1);
  const at = Math.min(Math.max(0, cursor), count - 1);
  const start = Math.min(count - visible, Math.max(0, at - Math.floor(visible / 2)));
  return { start, end: start + visible, above: start, below: count - start - visible };
}

/** The cells of one line: keys and values are user text, so they go through showText here, once. */
function cells(m: HeldMessage): string[] {
  const where = m.slot !== null ? `#${m.slot}` : m.key !== null ? fit(showText(m.key), MAX_KEY_COLUMN).trimEnd() : '-';
  return [
    m.id,
    `${nodeName(m.from)} → ${nodeName(m.to)}`,
    m.type,
    m.ballot ?? '-',
    where,
    m.value !== null ? showText(m.value) : '-',
  ];
}

/** Pads every column but the last to its widest cell among the lines shown, so the visible lines read as a table. */
function alignedLines(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length)))
      .join('  ')
      .trimEnd(),
  );
}

/** `+12 more (3 above, 9 below)`; messages a replica did not list are counted too. */
function moreText(w: HeldWindow, unlisted: number): string {
  const parts = [
    w.above > 0 ? `${w.above} above` : '',
    w.below > 0 ? `${w.below} below` : '',
    unlisted > 0 ? `${unlisted} not listed` : '',
  ].filter((p) => p !== '');
  return `+${w.above + w.below + unlisted} more (${parts.join(', ')})`;
}

export function HeldList({ messages, total, cursor, error, width, lines, color }: HeldListProps) {
  const errorLines = error !== null && lines > 1 ? 1 : 0;
  const room = lines - errorLines;
  const at = Math.min(Math.max(0, cursor), messages.length - 1);
  const unlisted = Math.max(0, total - messages.length);
  // A list cut short by the replicas' own cap needs the note line as much as one cut by the screen.
  const w = heldWindow(messages.length, unlisted > 0 ? Math.max(1, room - 1) : room, at);
  const shown = alignedLines(messages.slice(w.start, w.end).map(cells));
  const more = w.above + w.below + unlisted > 0 && room >= 2;
  return (
    <Box flexDirection="column" width={width} height={lines + 1}>
      <Rule title={`held (${total})`} width={width} color={color} />
      {errorLines > 0 && <Line text={`✗ ${error}`} width={width} style={paint(color, { color: 'red' })} />}
      {messages.length === 0 && room > 0 && (
        <Line
          text="nothing is held; t ticks every replica, T the selected one"
          width={width}
          style={paint(color, { dimColor: true })}
        />
      )}
      {shown.map((text, i) => {
        const selected = w.start + i === at;
        // The marker is there with colour too, so the cursor never depends on inverse video alone.
        return (
          <Line
            key={messages[w.start + i].id}
            text={(selected ? MARKER : NO_MARKER) + text}
            width={width}
            style={selected ? paint(color, { inverse: true }) : {}}
          />
        );
      })}
      {more && <Line text={moreText(w, unlisted)} width={width} style={paint(color, { dimColor: true })} />}
    </Box>
  );
}

function Line({ text, width, style }: { readonly text: string; readonly width: number; readonly style: TextProps }) {
  return (
    <Box width={width} height={1}>
      {/* Keys and values were escaped with showText above; showLine is the backstop for anything that was not. */}
      <Text wrap="truncate-end" {...style}>
        {showLine(text)}
      </Text>
    </Box>
  );
}
