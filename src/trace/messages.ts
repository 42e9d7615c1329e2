/**
 * What the trace says about a protocol message: its type, ballot, key or
 * slot, and the value it carries, as `TraceRecorder.send` takes them. Kept
 * here, next to the format, so the simulator and the replica record messages
 * the same way when they are wired to the recorder, and neither has to know
 * the trace's fields.
 */
import { formatBallot } from '../core/ballot.js';
import type { BasicMessage } from '../core/basic-messages.js';
import { formatLogValue, type MultiMessage, type SlotValue } from '../core/multi/messages.js';
import type { Protocol } from '../core/types.js';
import type { SentMessage } from './format.js';

/** A few values as one text: `x=7, y=2 +3 more`, so a batch does not make a label a paragraph. */
function listed(items: readonly string[], max = 2): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} +${items.length - max} more` : shown;
}

function slotValues(entries: readonly SlotValue[]): Pick<SentMessage, 'slot' | 'value'> {
  const first = entries.at(0);
  const last = entries.at(-1);
  if (first === undefined || last === undefined) return {};
  if (entries.length === 1) return { slot: first.slot, value: formatLogValue(first.value) };
  return { slot: first.slot, value: `${entries.length} values to #${last.slot}` };
}

export function basicMessageFields(m: BasicMessage): SentMessage {
  const base = { from: m.from, to: m.to, type: m.type };
  switch (m.type) {
    case 'prepare':
    case 'accepted':
    case 'reject':
      return { ...base, key: m.key, ballot: m.ballot };
    // A promise carries what the acceptor accepted before, at which ballot: the heart of why Paxos is safe.
    case 'promise':
      return {
        ...base,
        key: m.key,
        ballot: m.ballot,
        ...(m.accepted ? { value: `${m.accepted.value}@${formatBallot(m.accepted.ballot)}` } : {}),
      };
    case 'accept':
      return { ...base, key: m.key, ballot: m.ballot, value: m.value };
    case 'decide':
      return { ...base, key: m.key, ballot: m.ballot, value: m.value };
    case 'catchup':
      return { ...base, value: `from ${m.fromIndex}` };
    case 'learn':
      return { ...base, value: listed(m.entries.map((e) => `${e.key}=${e.value}`)) };
  }
}

export function multiMessageFields(m: MultiMessage): SentMessage {
  const base = { from: m.from, to: m.to, type: m.type };
  switch (m.type) {
    case 'prepare':
      return { ...base, ballot: m.ballot, slot: m.fromSlot };
    case 'promise':
      return {
        ...base,
        ballot: m.ballot,
        ...(m.accepted.length > 0
          ? { value: `${m.accepted.length} accepted` }
          : m.commitIndex > m.fromSlot
            ? { value: `decided below #${m.commitIndex}` }
            : {}),
      };
    // An accept without entries is the leader's heartbeat.
    case 'accept':
      return {
        ...base,
        ballot: m.ballot,
        ...(m.entries.length === 0 ? { value: 'heartbeat' } : slotValues(m.entries)),
      };
    case 'accepted':
      return {
        ...base,
        ballot: m.ballot,
        ...(m.slots.length === 1
          ? { slot: m.slots[0] }
          : m.slots.length > 1
            ? { slot: m.slots[0], value: `${m.slots.length} slots` }
            : {}),
      };
    case 'reject':
      return { ...base, ballot: m.ballot };
    case 'forward':
      return { ...base, value: formatLogValue(m.value) };
    case 'commit':
      return { ...base, ballot: m.ballot, value: `below #${m.commitIndex}` };
    case 'catchup':
      return { ...base, slot: m.fromSlot };
    case 'learn':
      return { ...base, ...slotValues(m.entries) };
    case 'snapshot':
      return {
        ...base,
        slot: m.slot,
        value: m.part.t === 'snapshot' ? `snapshot of ${m.part.kvCount} keys` : `part ${m.index}`,
      };
  }
}

/** The trace fields of any protocol message. */
export function messageFields(protocol: Protocol, m: BasicMessage | MultiMessage): SentMessage {
  return protocol === 'basic' ? basicMessageFields(m as BasicMessage) : multiMessageFields(m as MultiMessage);
}
