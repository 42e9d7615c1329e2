/** The selected replica's log, oldest at the top and the newest line at the bottom, like a terminal. */
import { Box, Text } from 'ink';
import { type NodeId, nodeName } from '../core/types.js';
import { showLine } from '../text/escape.js';
import type { LogLine } from './model.js';
import { Rule } from './rule.js';
import { paint } from './text.js';

export interface LogPaneProps {
  readonly node: NodeId;
  readonly lines: readonly LogLine[];
  readonly width: number;
  readonly height: number;
  readonly color: boolean;
}

export function LogPane({ node, lines, width, height, color }: LogPaneProps) {
  const tail = height > 0 ? lines.slice(-height) : [];
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Rule title={`${nodeName(node)} log`} width={width} color={color} />
      {tail.length === 0 && height > 0 && <Text {...paint(color, { dimColor: true })}>nothing logged yet</Text>}
      {tail.map((l, i) => (
        <Box key={i} width={width} height={1}>
          {/* Log lines come from replicas with their keys and values already escaped; showLine catches any line that is not. */}
          <Text wrap="truncate-end">{showLine(l.text)}</Text>
        </Box>
      ))}
    </Box>
  );
}
