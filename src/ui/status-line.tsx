/**
 * The outcome of the last action: pending, done, or the error sentence the
 * cluster gave back; or a question waiting for `y`, or a note that an action
 * was called off.
 */
import { Box, Text } from 'ink';
import { showLine } from '../text/escape.js';
import type { FaultRules } from '../transport/faults.js';
import { paint } from './text.js';

export interface Outcome {
  readonly kind: 'pending' | 'ok' | 'error' | 'ask' | 'info';
  readonly text: string;
}

/** A question carries no mark: it is a sentence of its own, and the next key answers it. */
const MARK = { pending: '…', ok: '✓', error: '✗', ask: '', info: '·' } as const;
const COLOR = { pending: 'yellow', ok: 'green', error: 'red', ask: 'yellow', info: 'gray' } as const;

export function StatusLine({
  outcome,
  width,
  color,
}: {
  readonly outcome: Outcome | null;
  readonly width: number;
  readonly color: boolean;
}) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...paint(color, outcome ? { color: COLOR[outcome.kind] } : { dimColor: true })}>
        {/* An outcome can quote what the user proposed or an error the cluster sent back, so it is drawn through showLine. */}
        {outcome
          ? `${MARK[outcome.kind] === '' ? '' : `${MARK[outcome.kind]} `}${showLine(outcome.text)}`
          : 'press ? for help'}
      </Text>
    </Box>
  );
}

export function faultsText(f: FaultRules): string {
  const parts: string[] = [];
  if (f.partition !== undefined) parts.push(`partition ${f.partition.map((g) => `{${g.join(',')}}`).join(' ')}`);
  if (f.delayMs !== undefined) parts.push(`delay ${f.delayMs.min}-${f.delayMs.max}ms`);
  if ((f.dropRate ?? 0) > 0) parts.push(`drop ${Math.round((f.dropRate ?? 0) * 1000) / 10}%`);
  return parts.length === 0 ? 'faults: none' : `faults: ${parts.join(' · ')}`;
}

export function FaultsLine({
  faults,
  width,
  color,
}: {
  readonly faults: FaultRules;
  readonly width: number;
  readonly color: boolean;
}) {
  const none = faults.partition === undefined && faults.delayMs === undefined && (faults.dropRate ?? 0) <= 0;
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...paint(color, none ? { dimColor: true } : { color: 'yellow' })}>
        {faultsText(faults)}
      </Text>
    </Box>
  );
}

/**
 * Said in place of the faults line once the cluster is gone, in red: the
 * figures above are the last ones it reported, not live ones.
 */
export function StoppedLine({
  reason,
  width,
  color,
  quitStopsCluster,
}: {
  readonly reason: string;
  readonly width: number;
  readonly color: boolean;
  readonly quitStopsCluster: boolean;
}) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...paint(color, { color: 'red', bold: true })}>
        {`cluster stopped: ${showLine(reason)}${quitStopsCluster ? '' : ' · q quits'} · figures above are its last`}
      </Text>
    </Box>
  );
}

/** `ky` reads as `k` then `y`: the three keys that change the cluster each wait for `y`, and the hint says so in little room. */
const HINT = '↑↓ select  ky kill  ry restart  iy isolate  p propose  h heal  ? help  q quit';
/** `paxos up`: quitting its dashboard stops the cluster, and the hint must not let that come as a surprise; `?` is named in the status line. */
const UP_HINT = '↑↓ select  ky kill  ry restart  iy isolate  p propose  h heal  q stop cluster';
/** In step mode the step keys are what the user presses most, so they take the line; `?` lists the rest. */
const STEP_HINT = '[ ] pick  ⏎ deliver  u dup  - drop  T tick node  t tick all  d/x all  ? help';

export function HintLine({
  width,
  color,
  step = false,
  quitStopsCluster = false,
}: {
  readonly width: number;
  readonly color: boolean;
  readonly step?: boolean;
  readonly quitStopsCluster?: boolean;
}) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate-end" {...paint(color, { dimColor: true })}>
        {step ? STEP_HINT : quitStopsCluster ? UP_HINT : HINT}
      </Text>
    </Box>
  );
}
