/** The one-line prompt `p` opens. It only shows the text; the keys that edit it are read by the Dashboard. */
import { Box, Text } from 'ink';
import { showLine } from '../text/escape.js';
import { paint } from './text.js';

export function ProposeInput({
  value,
  width,
  color,
}: {
  readonly value: string;
  readonly width: number;
  readonly color: boolean;
}) {
  // The end of the text is what the user is typing, so a long entry is cut at the start, not the end.
  return (
    <Box width={width} height={1}>
      <Box flexShrink={0}>
        <Text {...paint(color, { bold: true, color: 'cyan' })}>propose› </Text>
      </Box>
      <Box flexGrow={1}>
        {/* Typed control keys never reach the prompt, but pasted text can hold bidi or C1 characters; showLine shows them escaped. */}
        <Text wrap="truncate-start">
          {showLine(value)}
          <Text {...paint(color, { inverse: true })}>{color ? ' ' : '_'}</Text>
        </Text>
      </Box>
      <Box flexShrink={0}>
        <Text {...paint(color, { dimColor: true })}> Enter submit · Esc cancel</Text>
      </Box>
    </Box>
  );
}
