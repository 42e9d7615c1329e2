/**
 * Basic mode's per-key view: for every key, what each acceptor has promised
 * and accepted, and the value chosen. Two lines per key, `p` for promised and
 * `a` for accepted, so the 000 article's walk-through (A and B promise 2000,
 * C ignores 1000, everyone ends with x = 7) can be watched step by step.
 */
import { Box } from 'ink';
import { formatBallot } from '../core/ballot.js';
import { nodeName } from '../core/types.js';
import { showText } from '../text/escape.js';
import { Cell } from './cell.js';
import type { KeyCell, KeyRow } from './model.js';
import { Rule } from './rule.js';
import { ballotText, paint } from './text.js';

export interface KeyTableProps {
  readonly keys: readonly KeyRow[];
  readonly clusterSize: number;
  readonly width: number;
  /** Content lines below the title: one header line, then two per key. */
  readonly lines: number;
  readonly color: boolean;
}

const KEY_WIDTH = 10;
const CHOSEN_WIDTH = 12;
const MIN_CELL_WIDTH = 7;

export function KeyTable({ keys, clusterSize, width, lines, color }: KeyTableProps) {
  // On a narrow terminal a large cluster shows its first acceptors only, rather than wrapping.
  const available = Math.max(MIN_CELL_WIDTH, width - KEY_WIDTH - CHOSEN_WIDTH);
  const acceptors = Array.from(
    { length: Math.min(clusterSize, Math.floor(available / MIN_CELL_WIDTH)) },
    (_, i) => i + 1,
  );
  const cellWidth = Math.floor(available / acceptors.length);
  const shown = keys.slice(0, Math.max(0, Math.floor((lines - 1) / 2)));
  const bold = paint(color, { bold: true });
  return (
    <Box flexDirection="column" width={width} height={lines + 1}>
      <Rule title={`keys (${keys.length}): p = promised, a = accepted (ballot, value)`} width={width} color={color} />
      {lines > 0 && (
        <Box height={1}>
          <Cell width={KEY_WIDTH} text="key" style={bold} />
          {acceptors.map((id) => (
            <Cell key={id} width={cellWidth} text={nodeName(id)} style={bold} />
          ))}
          <Cell width={CHOSEN_WIDTH} text="chosen" style={bold} last />
        </Box>
      )}
      {shown.map((row) => (
        <KeyLines key={row.key} row={row} acceptors={acceptors} cellWidth={cellWidth} color={color} />
      ))}
    </Box>
  );
}

function KeyLines({
  row,
  acceptors,
  cellWidth,
  color,
}: {
  row: KeyRow;
  acceptors: number[];
  cellWidth: number;
  color: boolean;
}) {
  return (
    <Box flexDirection="column">
      <Box height={1}>
        <Cell width={KEY_WIDTH} text={showText(row.key)} style={paint(color, { color: 'cyan' })} />
        {acceptors.map((id) => (
          <Cell key={id} width={cellWidth} text={promisedText(row.cells[id - 1] ?? null)} />
        ))}
        <Cell
          width={CHOSEN_WIDTH}
          text={row.chosen === null ? '-' : showText(row.chosen)}
          style={paint(color, row.chosen === null ? { dimColor: true } : { color: 'green', bold: true })}
          last
        />
      </Box>
      <Box height={1}>
        <Cell width={KEY_WIDTH} text="" />
        {acceptors.map((id) => (
          <Cell
            key={id}
            width={cellWidth}
            text={acceptedText(row.cells[id - 1] ?? null)}
            style={paint(color, { color: 'yellow' })}
          />
        ))}
      </Box>
    </Box>
  );
}

export function promisedText(cell: KeyCell | null): string {
  return `p ${ballotText(cell?.promised ?? null)}`;
}

export function acceptedText(cell: KeyCell | null): string {
  const a = cell?.accepted ?? null;
  return a === null ? 'a -' : `a (${formatBallot(a.ballot)}, ${showText(a.value)})`;
}
