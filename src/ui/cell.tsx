/** A fixed-width table cell: long text is cut with …, and one column is kept free as the gap to the next cell. */
import { Box, Text, type TextProps } from 'ink';
import { showLine } from '../text/escape.js';

export interface CellProps {
  readonly width: number;
  readonly text: string;
  readonly style?: TextProps;
  /** The last cell of a line needs no gap after it. */
  readonly last?: boolean;
}

export function Cell({ width, text, style, last }: CellProps) {
  const inner = Math.max(1, last ? width : width - 1);
  return (
    <Box width={width} flexShrink={0}>
      <Box width={inner}>
        {/* Callers escape keys and values with showText; showLine is the backstop for any text they did not. */}
        <Text wrap="truncate-end" {...style}>
          {showLine(text)}
        </Text>
      </Box>
    </Box>
  );
}
