/** The one-line prompt `p` opens. It only shows the text; the keys that edit it are read by the Dashboard. */
import { Box, Text } from 'ink';
import { paint } from './text.js';

export function ProposeInput({ value, width, color }: { readonly value: string; readonly width: number; readonly color: boolean }) {
  // The end of the text is what the user is typing, so a long entry is cut at the start, not the end.
  return (
    <Box width={width} height={1}>
      <Box flexShrink={0}><Text {...paint(color, { bold: true, color: 'cyan' })}>propose› </Text></Box>
      <Box flexGrow={1}>
        <Text wrap="truncate-start">{value}<Text {...paint(color, { inverse: true })}>{color ? ' ' : '_'}</Text></Text>
      </Box>
      <Box flexShrink={0}><Text {...paint(color, { dimColor: true })}>  Enter submit · Esc cancel</Text></Box>
    </Box>
  );
}
