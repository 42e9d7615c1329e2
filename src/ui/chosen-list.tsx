/** The values chosen so far, newest first: slot (or key), value, ballot. */
import { Box } from 'ink';
import type { Protocol } from '../core/types.js';
import { showText } from '../text/escape.js';
import { Cell } from './cell.js';
import type { ChosenEntry } from './model.js';
import { Rule } from './rule.js';
import { ballotText, instanceText, paint } from './text.js';

export interface ChosenListProps {
  readonly entries: readonly ChosenEntry[];
  readonly total: number;
  readonly protocol: Protocol;
  readonly width: number;
  /** Content lines below the title. */
  readonly lines: number;
  readonly color: boolean;
}

const BALLOT_WIDTH = 8;

export function ChosenList({ entries, total, protocol, width, lines, color }: ChosenListProps) {
  const instanceWidth = protocol === 'multi' ? 7 : Math.min(12, Math.floor(width / 3));
  const valueWidth = Math.max(4, width - instanceWidth - BALLOT_WIDTH);
  return (
    <Box flexDirection="column" width={width} height={lines + 1}>
      <Rule title={`chosen (${total})`} width={width} color={color} />
      {entries.length === 0 && lines > 0 && (
        <Cell width={width} text="nothing chosen yet" style={paint(color, { dimColor: true })} last />
      )}
      {entries.slice(0, lines).map((e) => (
        <Box key={e.instance} height={1}>
          <Cell
            width={instanceWidth}
            text={instanceText(protocol, e.instance)}
            style={paint(color, { color: 'cyan' })}
          />
          <Cell width={valueWidth} text={showText(e.value)} style={paint(color, { bold: true })} />
          <Cell width={BALLOT_WIDTH} text={ballotText(e.ballot)} style={paint(color, { dimColor: true })} last />
        </Box>
      ))}
    </Box>
  );
}
