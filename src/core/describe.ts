/**
 * One-line descriptions of messages, as the dashboard's message flow and the
 * simulator's traces print them: `node-3 → node-1 accept #17 (4.3, x=7)`.
 */
import { formatBallot as b } from './ballot.js';
import type { BasicMessage } from './basic-messages.js';
import { formatLogValue, type MultiMessage, type SlotValue } from './multi-messages.js';
import { nodeName, type CoreEvent, type Protocol } from './types.js';

const MAX_LISTED = 3;

function slots(entries: readonly SlotValue[]): string {
  const shown = entries.slice(0, MAX_LISTED).map((e) => `#${e.slot} ${formatLogValue(e.value)}`);
  if (entries.length > MAX_LISTED) shown.push(`+${entries.length - MAX_LISTED} more`);
  return shown.join(', ');
}

function slotNumbers(list: readonly number[]): string {
  if (list.length === 0) return '';
  if (list.length === 1) return `#${list[0]}`;
  return `#${list[0]}..#${list[list.length - 1]} (${list.length})`;
}

export function describeMultiBody(m: MultiMessage): string {
  switch (m.type) {
    case 'prepare':
      return `prepare (${b(m.ballot)}) from #${m.fromSlot}`;
    case 'promise':
      return `promise (${b(m.ballot)})${m.accepted.length ? ` with ${m.accepted.length} accepted` : ''}`;
    case 'accept':
      return m.entries.length === 0
        ? `heartbeat (${b(m.ballot)}) commit<#${m.commitIndex}`
        : m.entries.length === 1
          ? `accept #${m.entries[0]!.slot} (${b(m.ballot)}, ${formatLogValue(m.entries[0]!.value)})`
          : `accept (${b(m.ballot)}) ${slots(m.entries)}`;
    case 'accepted':
      return m.slots.length === 0 ? `ack (${b(m.ballot)})` : `accepted ${slotNumbers(m.slots)} (${b(m.ballot)})`;
    case 'reject':
      return `reject (${b(m.ballot)}) promised ${b(m.promised)}`;
    case 'forward':
      return `forward ${formatLogValue(m.value)}`;
    case 'commit':
      return `commit<#${m.commitIndex} (${b(m.ballot)})`;
    case 'catchup':
      return `catchup from #${m.fromSlot}`;
    case 'learn':
      return `learn ${slots(m.entries)}`;
  }
}

export function describeBasicBody(m: BasicMessage): string {
  switch (m.type) {
    case 'prepare':
      return `prepare ${m.key} (${b(m.ballot)})`;
    case 'promise':
      return `promise ${m.key} (${b(m.ballot)})${m.accepted ? ` accepted (${b(m.accepted.ballot)}, ${m.accepted.value})` : ''}`;
    case 'accept':
      return `accept ${m.key} (${b(m.ballot)}, ${m.value})`;
    case 'accepted':
      return `accepted ${m.key} (${b(m.ballot)})`;
    case 'reject':
      return `reject ${m.key} (${b(m.ballot)}) promised ${b(m.promised)}`;
    case 'decide':
      return `decide ${m.key}=${m.value}${m.ballot ? ` (${b(m.ballot)})` : ''}`;
    case 'catchup':
      return `catchup from ${m.fromIndex}`;
    case 'learn':
      return `learn ${m.entries.map((e) => `${e.key}=${e.value}`).slice(0, MAX_LISTED).join(', ')}${m.entries.length > MAX_LISTED ? ` +${m.entries.length - MAX_LISTED} more` : ''}`;
  }
}

export function describeMessage(protocol: Protocol, m: MultiMessage | BasicMessage): string {
  const body = protocol === 'basic' ? describeBasicBody(m as BasicMessage) : describeMultiBody(m as MultiMessage);
  return `${nodeName(m.from)} → ${nodeName(m.to)} ${body}`;
}

/** A core event as a sentence for logs: `became leader at 4.3`, `was pre-empted: 1.1 lost to 1.3`. Null for noise. */
export function describeCoreEvent(e: CoreEvent): string | null {
  switch (e.type) {
    case 'phase1':
      return `starts phase 1 at ${b(e.ballot)}${e.instance ? ` for ${e.instance}` : ''}`;
    case 'phase2':
      return /^\d+$/.test(e.instance)
        ? `proposes #${e.instance} ${e.value} at ${b(e.ballot)}${e.adopted ? ' (adopted from a promise)' : ''}`
        : `proposes ${e.instance}=${e.value} at ${b(e.ballot)}${e.adopted ? ' (adopted from a promise)' : ''}`;
    case 'leader':
      return `became leader at ${b(e.ballot)}`;
    case 'follower':
      return e.leader === null ? 'stepped down' : `follows node-${e.leader}`;
    case 'preempted':
      return `was pre-empted: ${b(e.ballot)} lost to ${b(e.by)}${e.instance ? ` for ${e.instance}` : ''}`;
    case 'backoff':
      return null;
    case 'note':
      return e.text;
  }
}
