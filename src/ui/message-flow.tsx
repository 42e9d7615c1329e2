/** The latest messages between replicas, newest first: `node-3 → node-1 accept #17 (4.3, x=7)`. */
import { Box, Text } from 'ink';
import { showLine } from '../text/escape.js';
import type { FlowEntry } from './model.js';
import { Rule } from './rule.js';
import { compact, paint } from './text.js';

export interface MessageFlowProps {
  readonly entries: readonly FlowEntry[];
  /** Messages sent but not described; the flow is a sample under load and says so. */
  readonly notShown: number;
  /** Basic: idle catch-up messages counted instead of listed (see the model's foldIdle). */
  readonly folded?: number;
  readonly width: number;
  readonly lines: number;
  readonly color: boolean;
}

/** Colour by phase so a prepare/promise round reads apart from accepts and rejections. */
function typeColor(type: string): string | undefined {
  if (type === 'prepare' || type === 'promise') return 'cyan';
  if (type === 'accept' || type === 'accepted') return 'green';
  if (type === 'reject') return 'red';
  if (type === 'decide' || type === 'learn' || type === 'commit') return 'magenta';
  return undefined;
}

export function MessageFlow({ entries, notShown, folded = 0, width, lines, color }: MessageFlowProps) {
  const notes = [
    ...(notShown > 0 ? [`${compact(notShown)} more not shown`] : []),
    ...(folded > 0 ? [`${compact(folded)} idle catch-ups hidden`] : []),
  ];
  const title = notes.length > 0 ? `messages (${notes.join(', ')})` : 'messages';
  return (
    <Box flexDirection="column" width={width} height={lines + 1}>
      <Rule title={title} width={width} color={color} />
      {entries.length === 0 && lines > 0 && <Text {...paint(color, { dimColor: true })}>no messages yet</Text>}
      {/* Flow lines are described by the replicas, keys and values escaped; showLine catches any line that is not. */}
      {entries.slice(0, lines).map((e, i) => (
        <Box key={i} width={width} height={1}>
          <Text wrap="truncate-end" {...paint(color, { color: typeColor(e.type) })}>
            {showLine(e.text)}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
