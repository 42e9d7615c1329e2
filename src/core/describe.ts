/**
 * One-line descriptions of messages, as the dashboard's message flow and the
 * simulator's traces print them: `node-3 → node-1 accept #17 (4.3, x=7)`.
 * Keys and values are user text, so each is put in through showText: a
 * description is drawn on terminals and written to logs as one line, and a
 * value holding a newline or an escape sequence must not break or take over
 * either.
 */

import { showLine, showText } from '../text/escape.js';
import { formatBallot as b } from './ballot.js';
import type { BasicMessage } from './basic-messages.js';
import { formatLogValue, type MultiMessage, type SlotValue } from './multi/messages.js';
import { type CoreEvent, nodeName, type Protocol } from './types.js';

const MAX_LISTED = 3;

/** A log slot's command (`x=7`, `get x`, `no-op`) as printable text. */
function lv(value: SlotValue['value']): string {
  return showText(formatLogValue(value));
}

/** A key or value as printable text. */
const t = showText;

function slots(entries: readonly SlotValue[]): string {
  const shown = entries.slice(0, MAX_LISTED).map((e) => `#${e.slot} ${lv(e.value)}`);
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
      // The commit point is news only when it is past the candidate's: slots the candidate must learn, not propose.
      return `promise (${b(m.ballot)})${m.commitIndex > m.fromSlot ? ` decided<#${m.commitIndex}` : ''}${m.accepted.length ? ` with ${m.accepted.length} accepted` : ''}`;
    case 'accept': {
      const [first] = m.entries;
      return first === undefined
        ? `heartbeat (${b(m.ballot)}) commit<#${m.commitIndex}`
        : m.entries.length === 1
          ? `accept #${first.slot} (${b(m.ballot)}, ${lv(first.value)})`
          : `accept (${b(m.ballot)}) ${slots(m.entries)}`;
    }
    case 'accepted':
      return m.slots.length === 0 ? `ack (${b(m.ballot)})` : `accepted ${slotNumbers(m.slots)} (${b(m.ballot)})`;
    case 'reject':
      return `reject (${b(m.ballot)}) promised ${b(m.promised)}`;
    case 'forward':
      return `forward ${lv(m.value)}`;
    case 'commit':
      return `commit<#${m.commitIndex} (${b(m.ballot)})`;
    case 'catchup':
      return m.snapshot === undefined
        ? `catchup from #${m.fromSlot}`
        : `catchup snapshot @#${m.snapshot.slot} part ${m.snapshot.part}`;
    case 'learn':
      return `learn ${slots(m.entries)}`;
    case 'snapshot':
      return m.part.t === 'snapshot'
        ? `snapshot @#${m.slot} (${m.part.kvCount} keys, ${m.part.parts} parts)`
        : `snapshot @#${m.slot} part ${m.index}`;
  }
}

export function describeBasicBody(m: BasicMessage): string {
  switch (m.type) {
    case 'prepare':
      return `prepare ${t(m.key)} (${b(m.ballot)})`;
    case 'promise':
      return `promise ${t(m.key)} (${b(m.ballot)})${m.accepted ? ` accepted (${b(m.accepted.ballot)}, ${t(m.accepted.value)})` : ''}`;
    case 'accept':
      return `accept ${t(m.key)} (${b(m.ballot)}, ${t(m.value)})`;
    case 'accepted':
      return `accepted ${t(m.key)} (${b(m.ballot)})`;
    case 'reject':
      return `reject ${t(m.key)} (${b(m.ballot)}) promised ${b(m.promised)}`;
    case 'decide':
      return `decide ${t(m.key)}=${t(m.value)}${m.ballot ? ` (${b(m.ballot)})` : ''}`;
    case 'catchup':
      return `catchup from ${m.fromIndex}`;
    case 'learn':
      return `learn ${m.entries
        .map((e) => `${t(e.key)}=${t(e.value)}`)
        .slice(0, MAX_LISTED)
        .join(', ')}${m.entries.length > MAX_LISTED ? ` +${m.entries.length - MAX_LISTED} more` : ''}`;
  }
}

/** Steps that come one per value under load (phase 2 of a value not adopted) or one per retry (a back-off). */
export function isRoutine(e: CoreEvent): boolean {
  return (e.type === 'phase2' && !e.adopted) || e.type === 'backoff';
}

export function describeMessage(protocol: Protocol, m: MultiMessage | BasicMessage): string {
  const body = protocol === 'basic' ? describeBasicBody(m as BasicMessage) : describeMultiBody(m as MultiMessage);
  return `${nodeName(m.from)} → ${nodeName(m.to)} ${body}`;
}

/**
 * A core event as a sentence: `became leader at 4.3`, `was pre-empted: 1.1 lost to 1.3`. The one wording for
 * replica logs, the event printer and the dashboard; which events each shows is its own choice (`isRoutine`).
 */
export function describeCoreEvent(e: CoreEvent): string {
  switch (e.type) {
    case 'phase1':
      return `starts phase 1 at ${b(e.ballot)}${e.instance ? ` for ${t(e.instance)}` : ''}`;
    case 'phase2':
      return /^\d+$/.test(e.instance)
        ? `proposes #${t(e.instance)} ${t(e.value)} at ${b(e.ballot)}${e.adopted ? ' (adopted from a promise)' : ''}`
        : `proposes ${t(e.instance)}=${t(e.value)} at ${b(e.ballot)}${e.adopted ? ' (adopted from a promise)' : ''}`;
    case 'leader':
      return `became leader at ${b(e.ballot)}${e.epoch ? ` in epoch ${e.epoch}` : ''}`;
    case 'epoch':
      return `entered epoch ${e.epoch} (voters ${e.voters.map((v) => nodeName(v)).join(', ')}) from slot ${e.startSlot}`;
    case 'follower':
      return e.leader === null ? 'stepped down' : `follows ${nodeName(e.leader)}`;
    case 'preempted':
      return `was pre-empted: ${b(e.ballot)} lost to ${b(e.by)}${e.instance ? ` for ${t(e.instance)}` : ''}`;
    case 'backoff':
      return `backs off ${e.ticks} ticks${e.instance ? ` for ${t(e.instance)}` : ''}`;
    case 'snapshot-installed':
    case 'identity-reused':
      return showLine(coreEventSentence(e));
    case 'note':
      // Notes are sentences written by the core; they should hold no raw user text, but are checked anyway.
      return showLine(e.text);
  }
}

/**
 * The sentence of an event that reports one fact in words (as a note did before it got its own fields), unescaped:
 * a scenario trace prints it as it stands, a log or the dashboard through `describeCoreEvent`, which escapes it.
 */
export function coreEventSentence(e: Extract<CoreEvent, { type: 'snapshot-installed' | 'identity-reused' }>): string {
  switch (e.type) {
    case 'snapshot-installed':
      return `installed a snapshot at slot ${e.slot} from ${nodeName(e.from)} (${e.keys} keys)`;
    case 'identity-reused':
      return `slot ${e.slot}: command ${e.id} reuses an identity applied at slot ${e.appliedAt} for a different command; refused`;
  }
}
