/** A section title drawn as a horizontal rule, so sections read apart even without colour. */
import { Box, Text } from 'ink';
import { paint, ruleText } from './text.js';

export function Rule({
  title,
  width,
  color,
}: {
  readonly title: string;
  readonly width: number;
  readonly color: boolean;
}) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...paint(color, { color: 'gray' })}>
        {ruleText(title, width)}
      </Text>
    </Box>
  );
}
