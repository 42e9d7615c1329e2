/**
 * One row per replica. Every state is spelled out in words (`down`,
 * `isolated`, `*` for the leader, `›` for the selection) so the table reads
 * the same with NO_COLOR; colour only repeats what the words say.
 */
import { Box, type TextProps } from 'ink';
import { type NodeId, nodeName, type Protocol } from '../core/types.js';
import { Cell } from './cell.js';
import { tableWindowStart } from './layout.js';
import type { ReplicaRow } from './model.js';
import { acceptedText, ballotText, compact, paint } from './text.js';

/** Column widths at 80 columns; the accepted column takes what is left, within ACCEPTED. */
const W = { mark: 2, node: 9, state: 9, role: 10, promised: 9, chosen: 7, io: 12, rate: 6 } as const;
type Column = keyof typeof W;
/** The accepted column is at least `min` wide, and never wider than `max`: a ballot and a short value, not a screen of padding. */
export const ACCEPTED = { min: 8, max: 60 } as const;
/**
 * On a narrow terminal whole columns go, least telling first, rather than
 * wrapping the table: the rate, traffic, role, chosen count, then the
 * promised ballot. The replica, its state and what it accepted always stay.
 */
const DROP_ORDER: readonly Column[] = ['rate', 'io', 'role', 'chosen', 'promised'];
const TITLES: Readonly<Record<Column, string>> = {
  mark: '',
  node: 'replica',
  state: 'state',
  role: 'role',
  promised: 'promised',
  chosen: 'chosen',
  io: 'in/out',
  rate: 'msg/s',
};

export interface TableColumns {
  readonly widths: Readonly<Partial<Record<Column, number>>>;
  readonly accepted: number;
}

/**
 * Which columns fit in `columns`, and how wide each is. Past the accepted
 * column's cap, the rest of a wide terminal is shared among the other
 * columns (so figures spread out instead of one column taking 140
 * characters of blanks), up to twice their width; anything beyond is left
 * empty on the right.
 */
export function tableColumns(columns: number): TableColumns {
  const kept = new Set<Column>(Object.keys(W) as Column[]);
  const fixed = () => [...kept].reduce((sum, c) => sum + W[c], 0);
  for (const c of DROP_ORDER) {
    if (fixed() + ACCEPTED.min <= columns) break;
    kept.delete(c);
  }
  const accepted = Math.max(ACCEPTED.min, Math.min(ACCEPTED.max, columns - fixed()));
  const spare = Math.max(0, columns - fixed() - accepted);
  const sharing = [...kept].filter((c) => c !== 'mark');
  const extra = Math.min(Math.floor(spare / Math.max(1, sharing.length)), Math.min(...sharing.map((c) => W[c])));
  const widths: Partial<Record<Column, number>> = {};
  for (const c of kept) widths[c] = W[c] + (c === 'mark' ? 0 : extra);
  return { widths, accepted };
}

export interface ReplicaTableProps {
  readonly rows: readonly ReplicaRow[];
  readonly protocol: Protocol;
  readonly leaderId: NodeId | null;
  readonly selected: NodeId;
  /** At most this many rows are drawn, windowed around the selection. */
  readonly visibleRows: number;
  readonly columns: number;
  readonly color: boolean;
}

export function ReplicaTable(props: ReplicaTableProps) {
  const layout = tableColumns(props.columns);
  const at = Math.max(
    0,
    props.rows.findIndex((r) => r.id === props.selected),
  );
  const start = tableWindowStart({ clusterSize: props.rows.length, visible: props.visibleRows, selected: at + 1 });
  const shown = props.rows.slice(start, start + props.visibleRows);
  const bold = paint(props.color, { bold: true });
  return (
    <Box flexDirection="column" width={props.columns}>
      <Box height={1}>
        {cells(
          layout,
          (c) => TITLES[c],
          () => bold,
          'accepted',
        )}
      </Box>
      {shown.map((row) => (
        <ReplicaLine
          key={row.id}
          row={row}
          protocol={props.protocol}
          isLeader={row.id === props.leaderId}
          isSelected={row.id === props.selected}
          layout={layout}
          color={props.color}
        />
      ))}
    </Box>
  );
}

/** The cells of one line, in the table's column order, only those that fit. */
function cells(
  layout: TableColumns,
  text: (c: Column) => string,
  style: (c: Column) => TextProps,
  accepted: string,
  acceptedStyle?: TextProps,
) {
  const order: (Column | 'accepted')[] = [
    'mark',
    'node',
    'state',
    'role',
    'promised',
    'accepted',
    'chosen',
    'io',
    'rate',
  ];
  return order.map((c) => {
    if (c === 'accepted')
      return <Cell key={c} width={layout.accepted} text={accepted} style={acceptedStyle ?? style('node')} />;
    const width = layout.widths[c];
    return width === undefined ? null : <Cell key={c} width={width} text={text(c)} style={style(c)} />;
  });
}

/** A learner or a removed replica is named as such: its own role (a follower) would hide that it does not vote. */
function roleText(row: ReplicaRow): string {
  if (row.member === 'learner' || row.member === 'removed') return row.member;
  return row.role ?? '-';
}

interface LineProps {
  readonly row: ReplicaRow;
  readonly protocol: Protocol;
  readonly isLeader: boolean;
  readonly isSelected: boolean;
  readonly layout: TableColumns;
  readonly color: boolean;
}

function ReplicaLine({ row, protocol, isLeader, isSelected, layout, color }: LineProps) {
  const down = row.liveness === 'down';
  // A dead replica's last known figures stay visible but dimmed: they are what it will recover from disk.
  const base = paint(color, { dimColor: down, bold: isSelected });
  const text: Record<Column, string> = {
    mark: isSelected ? '›' : '',
    node: `${nodeName(row.id)}${isLeader ? '*' : ''}`,
    state: stateText(row),
    role: down ? '-' : roleText(row),
    promised: ballotText(row.promised),
    chosen: String(row.chosenCount),
    io: `${compact(row.messagesIn)}/${compact(row.messagesOut)}`,
    rate: down ? '-' : compact(row.messageRatePerSec),
  };
  const style = (c: Column): TextProps => {
    if (c === 'mark') return paint(color, { bold: true });
    if (c === 'node') return { ...base, ...paint(color, isLeader ? { color: 'green' } : {}) };
    if (c === 'state') return { ...base, ...paint(color, { color: stateColor(row) }) };
    return base;
  };
  return <Box height={1}>{cells(layout, (c) => text[c], style, acceptedText(protocol, row.lastAccepted), base)}</Box>;
}

export function stateText(row: ReplicaRow): string {
  if (row.liveness === 'down') return 'down';
  if (row.isolated) return 'isolated';
  return row.liveness === 'up' ? 'up' : '?';
}

function stateColor(row: ReplicaRow): string | undefined {
  if (row.liveness === 'down') return 'red';
  if (row.isolated) return 'yellow';
  return row.liveness === 'up' ? 'green' : undefined;
}
