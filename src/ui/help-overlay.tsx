/** The keys and what the marks mean; shown in place of the lower sections while `?` is toggled on. */
import { Box, Text } from 'ink';
import { Rule } from './rule.js';
import { paint } from './text.js';

const KEYS: readonly (readonly [string, string])[] = [
  ['↑ ↓', 'select a replica (its log is shown below the table)'],
  // k, r and i change the cluster, so each asks first and `y` confirms. The key column says so rather than a row of its
  // own, because rows are what a small terminal cuts off, from the bottom.
  ['k y', 'kill the selected replica (SIGKILL, for real); k asks, y confirms'],
  ['r y', 'restart the selected replica from its data on disk'],
  ['i y', 'isolate the selected replica (a partition of its own)'],
  ['p', 'propose a value, e.g. x=7 (Enter submits, Esc cancels)'],
  ['h', 'heal: remove every partition'],
  ['t d x', 'step mode (up --step): tick every replica once, deliver or drop every held message'],
  ['?', 'show or hide this help'],
  ['q', 'quit the dashboard (Ctrl-C too)'],
];

/**
 * The keys that act on one held message, shown only in step mode: outside
 * it they are refused, and a small terminal cuts rows off from the bottom.
 */
const STEP_KEYS: readonly (readonly [string, string])[] = [
  ['[ ]', 'move the cursor through the held messages'],
  ['⏎ space', 'deliver the selected message, any one, out of order included'],
  ['u', 'duplicate the selected message: deliver a copy, keep it held'],
  ['- ⌫', 'drop the selected message: it is never delivered'],
  ['T', 'tick the selected replica once'],
];

const LEGEND: readonly (readonly [string, string])[] = [
  ['', ''],
  ['*', 'the leader: role leader with the highest promised ballot'],
  ['down', 'process not running; dimmed figures are its last report'],
  ['isolated', 'alone in its partition group: it can reach no one'],
  ['4.3', 'a ballot: round 4, proposed by node-3'],
];

/** `paxos up` runs the cluster in the dashboard's own process: leaving it stops the cluster. */
const UP_QUIT: readonly [string, string] = [
  'q',
  'stop the cluster and quit (Ctrl-C too); paxos up --detach keeps one running',
];

export function HelpOverlay({
  width,
  height,
  color,
  step = false,
  quitStopsCluster = false,
}: {
  readonly width: number;
  readonly height: number;
  readonly color: boolean;
  readonly step?: boolean;
  readonly quitStopsCluster?: boolean;
}) {
  const keys = quitStopsCluster ? KEYS.map((k) => (k[0] === 'q' ? UP_QUIT : k)) : KEYS;
  const rows = step ? [...STEP_KEYS, ...keys, ...LEGEND] : [...keys, ...LEGEND];
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Rule title="help (press ? to close)" width={width} color={color} />
      {rows.slice(0, Math.max(0, height - 1)).map(([key, text], i) => (
        <Box key={i} width={width} height={1}>
          <Box width={10} flexShrink={0}>
            <Text {...paint(color, { bold: true, color: 'cyan' })}>{key}</Text>
          </Box>
          <Box width={Math.max(1, width - 10)}>
            <Text wrap="truncate-end">{text}</Text>
          </Box>
        </Box>
      ))}
    </Box>
  );
}
