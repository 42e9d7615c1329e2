/**
 * How the screen is divided, as plain arithmetic so it can be tested without
 * rendering. The fixed lines are the header, the table's header, the faults
 * line, the status line and the key hints; what is left goes to two titled
 * sections, which grow with the terminal:
 *   multi: [chosen | messages] above, the selected replica's log below;
 *   basic: the per-key table above, [messages | log] below.
 */
import type { Protocol } from '../core/types.js';

export interface Layout {
  readonly columns: number;
  /** Replica rows shown; fewer than the cluster size only on very short terminals. */
  readonly tableRows: number;
  /** Content lines of the upper section, below its title. */
  readonly upperLines: number;
  /** Content lines of the lower section, below its title. */
  readonly lowerLines: number;
  /** Width of the left pane where a section is split in two. */
  readonly leftWidth: number;
  readonly rightWidth: number;
}

const FIXED_LINES = 5;
const SECTION_TITLES = 2;
/**
 * Below this the dashboard cannot be laid out without garbling (lines
 * wrapping into each other); it shows one line saying so instead (see
 * tooSmall). The rows are what the dashboard may draw: one fewer than the
 * terminal's (see render.tsx), so a 50×12 terminal still gets the dashboard.
 */
export const MIN_COLUMNS = 40;
export const MIN_ROWS = 10;

/** The sentence shown instead of the dashboard on a terminal too small for it, or null when it fits. */
export function tooSmall(columns: number, rows: number): string | null {
  if (columns >= MIN_COLUMNS && rows >= MIN_ROWS) return null;
  return `terminal too small (${Math.floor(columns)}×${Math.floor(rows) + 1} < ${MIN_COLUMNS}×${MIN_ROWS + 1})`;
}
const GAP = 1;

export function layoutFor(opts: { columns: number; rows: number; clusterSize: number; protocol: Protocol }): Layout {
  const columns = Math.max(MIN_COLUMNS, Math.floor(opts.columns));
  const rows = Math.max(MIN_ROWS, Math.floor(opts.rows));
  // Keep at least two content lines per section; the table gives way first on a short terminal.
  const tableRows = Math.max(1, Math.min(opts.clusterSize, rows - FIXED_LINES - SECTION_TITLES - 4));
  const content = rows - FIXED_LINES - SECTION_TITLES - tableRows;
  const upperLines = Math.ceil(content / 2);
  const lowerLines = content - upperLines;
  const split = splitWidths(columns, opts.protocol);
  return { columns, tableRows, upperLines, lowerLines, ...split };
}

/** Multi splits chosen (narrow) from messages (wide); basic splits messages and log evenly. */
function splitWidths(columns: number, protocol: Protocol): { leftWidth: number; rightWidth: number } {
  const leftWidth =
    protocol === 'multi' ? Math.max(20, Math.min(44, Math.floor(columns * 0.3))) : Math.floor((columns - GAP) / 2);
  return { leftWidth, rightWidth: columns - GAP - leftWidth };
}

/** The first visible table row, chosen so the selected replica is always in view. */
export function tableWindowStart(opts: { clusterSize: number; visible: number; selected: number }): number {
  const maxStart = Math.max(0, opts.clusterSize - opts.visible);
  return Math.min(maxStart, Math.max(0, opts.selected - 1 - Math.floor(opts.visible / 2)));
}
