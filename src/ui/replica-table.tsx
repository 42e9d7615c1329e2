/**
 * One row per replica. Every state is spelled out in words (`down`,
 * `isolated`, `*` for the leader, `›` for the selection) so the table reads
 * the same with NO_COLOR; colour only repeats what the words say.
 */
import { Box } from 'ink';
import { Cell } from './cell.js';
import { nodeName, type NodeId, type Protocol } from '../core/types.js';
import { tableWindowStart } from './layout.js';
import type { ReplicaRow } from './model.js';
import { acceptedText, ballotText, compact, paint } from './text.js';

/** Fixed column widths; the accepted column takes whatever the terminal has left. */
const W = { mark: 2, node: 9, state: 9, role: 10, promised: 9, chosen: 7, io: 12, rate: 6 } as const;
const FIXED = Object.values(W).reduce((a, b) => a + b, 0);

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
  const acceptedWidth = Math.max(8, props.columns - FIXED);
  const start = tableWindowStart({ clusterSize: props.rows.length, visible: props.visibleRows, selected: props.selected });
  const shown = props.rows.slice(start, start + props.visibleRows);
  return (
    <Box flexDirection="column" width={props.columns}>
      <Box height={1}>
        <Cell width={W.mark} text="" />
        <Cell width={W.node} text="replica" style={paint(props.color, { bold: true })} />
        <Cell width={W.state} text="state" style={paint(props.color, { bold: true })} />
        <Cell width={W.role} text="role" style={paint(props.color, { bold: true })} />
        <Cell width={W.promised} text="promised" style={paint(props.color, { bold: true })} />
        <Cell width={acceptedWidth} text="accepted" style={paint(props.color, { bold: true })} />
        <Cell width={W.chosen} text="chosen" style={paint(props.color, { bold: true })} />
        <Cell width={W.io} text="in/out" style={paint(props.color, { bold: true })} />
        <Cell width={W.rate} text="msg/s" style={paint(props.color, { bold: true })} />
      </Box>
      {shown.map((row) => (
        <ReplicaLine key={row.id} row={row} protocol={props.protocol} isLeader={row.id === props.leaderId}
          isSelected={row.id === props.selected} acceptedWidth={acceptedWidth} color={props.color} />
      ))}
    </Box>
  );
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
  readonly acceptedWidth: number;
  readonly color: boolean;
}

function ReplicaLine({ row, protocol, isLeader, isSelected, acceptedWidth, color }: LineProps) {
  const down = row.liveness === 'down';
  // A dead replica's last known figures stay visible but dimmed: they are what it will recover from disk.
  const base = paint(color, { dimColor: down, bold: isSelected });
  return (
    <Box height={1}>
      <Cell width={W.mark} text={isSelected ? '›' : ''} style={paint(color, { bold: true })} />
      <Cell width={W.node} text={`${nodeName(row.id)}${isLeader ? '*' : ''}`} style={{ ...base, ...paint(color, isLeader ? { color: 'green' } : {}) }} />
      <Cell width={W.state} text={stateText(row)} style={{ ...base, ...paint(color, { color: stateColor(row) }) }} />
      <Cell width={W.role} text={down ? '-' : roleText(row)} style={base} />
      <Cell width={W.promised} text={ballotText(row.promised)} style={base} />
      <Cell width={acceptedWidth} text={acceptedText(protocol, row.lastAccepted)} style={base} />
      <Cell width={W.chosen} text={String(row.chosenCount)} style={base} />
      <Cell width={W.io} text={`${compact(row.messagesIn)}/${compact(row.messagesOut)}`} style={base} />
      <Cell width={W.rate} text={down ? '-' : compact(row.messageRatePerSec)} style={base} />
    </Box>
  );
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
