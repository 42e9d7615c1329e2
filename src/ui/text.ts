/**
 * Small formatting helpers shared by the dashboard's components, kept apart
 * so each component only arranges boxes.
 */
import type { TextProps } from 'ink';
import { type Ballot, formatBallot } from '../core/ballot.js';
import type { NodeView, Protocol } from '../core/types.js';
import { showText } from '../text/escape.js';

/** Text style with colour switched off entirely when `color` is false (NO_COLOR): no colour, no bold, no dim, no inverse. */
export function paint(color: boolean, style: TextProps): TextProps {
  return color ? style : {};
}

export function ballotText(b: Ballot | null): string {
  return b === null ? '-' : formatBallot(b);
}

/** `1234` → `1.2k`: counters grow without bound, their column does not. */
export function compact(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n < 1000) return String(Math.round(n));
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  if (n < 10_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return `${Math.round(n / 1_000_000)}M`;
}

/** Multi-mode instances are log slots (`#17`); basic-mode instances are keys, user text, so shown escaped. */
export function instanceText(protocol: Protocol, instance: string): string {
  return protocol === 'multi' ? `#${instance}` : showText(instance);
}

/** Shaped like the flow's accept lines: `#17 (4.3, x=7)` or `x (1.3, 7)`; the value is user text and shown escaped. */
export function acceptedText(protocol: Protocol, a: NodeView['lastAccepted']): string {
  if (a === null) return '-';
  return `${instanceText(protocol, a.instance)} (${formatBallot(a.ballot)}, ${showText(a.value)})`;
}

/** Pads or cuts a string to exactly `width` columns, marking a cut with `…`. For ASCII-ish cells the renderer cannot truncate itself. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text + ' '.repeat(width - chars.length);
  return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
}

/** A section title drawn as a rule: `── messages ─────`. */
export function ruleText(title: string, width: number): string {
  const head = `── ${title} `;
  const headChars = [...head].length;
  if (headChars >= width) return fit(head, width);
  return head + '─'.repeat(width - headChars);
}
