/** The top line: what cluster this is and how it is doing, at a glance. */
import { Box, Text } from 'ink';
import { nodeName } from '../core/types.js';
import type { DashboardState } from './model.js';
import { ballotText, compact, paint } from './text.js';

export interface HeaderProps {
  readonly state: Pick<DashboardState, 'clusterSize' | 'protocol' | 'leader' | 'totalChosen' | 'messageRatePerSec'> &
    Partial<Pick<DashboardState, 'membership'>>;
  /** The replicas the table shows (the configuration's, as `paxos status` counts them); the cluster size if absent. */
  readonly replicas?: number;
  readonly columns: number;
  readonly color: boolean;
}

export function Header({ state, replicas, columns, color }: HeaderProps) {
  // Basic Paxos has no leader: any replica may propose, which is exactly what the duelling example shows.
  const leader =
    state.protocol === 'basic'
      ? 'no leader'
      : state.leader === null
        ? 'leader none'
        : `leader ${nodeName(state.leader.id)} at ${ballotText(state.leader.ballot)}`;
  return (
    <Box width={columns} height={1}>
      <Text wrap="truncate-end">
        <Text {...paint(color, { bold: true })}>paxos</Text>
        {`  ${replicas ?? state.clusterSize} replica${(replicas ?? state.clusterSize) === 1 ? '' : 's'} · ${state.protocol} · `}
        <Text {...paint(color, { color: state.leader === null ? 'yellow' : 'green' })}>{leader}</Text>
        {` · chosen ${state.totalChosen} · ${compact(state.messageRatePerSec)} msg/s`}
        {membershipText(state.membership ?? null)}
      </Text>
    </Box>
  );
}

/** Shown once the membership changed (epoch above 0): the bootstrap configuration needs no words. */
function membershipText(m: DashboardState['membership']): string {
  if (m === null || m.epoch === 0) return '';
  return ` · epoch ${m.epoch}: ${m.voters.map((v) => nodeName(v)).join(',')} from #${m.startSlot}`;
}
