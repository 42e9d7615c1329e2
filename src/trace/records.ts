/**
 * Durable records in words, the one place they are described: what the trace
 * says about a write (`promise 3.2`, `accept 3.2 #4..#6`, `snapshot @#12`), as
 * `TraceRecorder.persist` takes them, and the fuller words a scenario prints
 * for each write (every slot's value). Kept next to the format, like the
 * message fields, so the simulator, a live replica and both scenario runners
 * describe their writes the same way.
 */
import { type Ballot, formatBallot } from '../core/ballot.js';
import type { BasicRecord } from '../core/basic-messages.js';
import { formatLogValue, type MultiRecord, type SlotValue } from '../core/multi/messages.js';
import type { Protocol } from '../core/types.js';

/** Records shown in one persist line before the rest are counted: a batch of fifty accepts would make a label a paragraph. */
const RECORDS_SHOWN = 3;

/** `#4`, `#4..#6`, or `#4..#9 (3 slots)` when the slots have gaps, so the range never claims slots it does not hold. */
export function slotRange(slots: readonly number[]): string {
  if (slots.length === 0) return 'no slots';
  const first = slots[0];
  const last = slots[slots.length - 1];
  if (slots.length === 1) return `#${first}`;
  const contiguous = last - first + 1 === slots.length;
  return contiguous ? `#${first}..#${last}` : `#${first}..#${last} (${slots.length} slots)`;
}

/**
 * How much a record's words say. `compact` (the trace's persist lines): a
 * ballot as `3.2`, slots as a range. `full` (a scenario's lines, which a
 * reader follows write by write): a ballot as a message shows it, `(3.2)`,
 * every slot with its value, an epoch's voters and a recovery's session.
 */
export interface RecordWords {
  readonly form: 'compact' | 'full';
}

/** One durable record in a few words, of either protocol. */
export function describeRecord(protocol: Protocol, r: unknown, o: RecordWords): string {
  return protocol === 'multi' ? describeMultiRecord(r as MultiRecord, o) : describeBasicRecord(r as BasicRecord, o);
}

export function describeMultiRecord(r: MultiRecord, o: RecordWords): string {
  const full = o.form === 'full';
  const ballot = (b: Ballot) => (full ? `(${formatBallot(b)})` : formatBallot(b));
  const slots = (entries: readonly SlotValue[]) =>
    full
      ? entries.map((e) => `#${e.slot} ${formatLogValue(e.value)}`).join(', ')
      : slotRange(entries.map((e) => e.slot));
  switch (r.t) {
    case 'round':
      return `round ${r.round}`;
    case 'promise':
      return `promise ${ballot(r.ballot)}`;
    case 'accept':
      return `accept ${ballot(r.ballot)} ${slots(r.entries)}`;
    case 'chosen':
      return `chosen ${slots(r.entries)}`;
    case 'epoch': {
      const voters = full ? ` (voters ${r.membership.voters.join(',')})` : '';
      return `epoch ${r.membership.epoch}${voters} from #${r.membership.startSlot}`;
    }
    case 'recovering':
      return full ? `recovering a lost disk (session ${r.session})` : 'recovering a lost disk';
    case 'readmitted':
      return full ? `re-admitted: votes from epoch ${r.epoch}` : `re-admitted in epoch ${r.epoch}`;
  }
}

export function describeBasicRecord(r: BasicRecord, o: RecordWords): string {
  const full = o.form === 'full';
  switch (r.t) {
    case 'round':
      return `round ${r.round}`;
    case 'promise':
      return full ? `promise ${r.key} (${formatBallot(r.ballot)})` : `promise ${formatBallot(r.ballot)} ${r.key}`;
    case 'accept':
      return full
        ? `accept ${r.key} (${formatBallot(r.ballot)}, ${r.value})`
        : `accept ${formatBallot(r.ballot)} ${r.key}=${r.value}`;
    case 'chosen':
      return `chosen ${r.key}=${r.value}`;
  }
}

/** One durable write as one short text: its records in order, the first few named and the rest counted. */
export function describeWrite(protocol: Protocol, records: readonly unknown[]): string {
  const shown = records.slice(0, RECORDS_SHOWN).map((r) => describeRecord(protocol, r, { form: 'compact' }));
  if (records.length > RECORDS_SHOWN) shown.push(`+${records.length - RECORDS_SHOWN} more`);
  return shown.length === 0 ? 'empty write' : shown.join(', ');
}

/**
 * A checkpoint as it lands: Multi names the slot the snapshot covers
 * (`snapshot @#12 (3 keys), log: round 2, promise 2.2`), Basic has no snapshot
 * of its own (its compacted log is the state). The log is rewritten right
 * after the snapshot, at the same instant, unless the node crashes between
 * the two; the simulator's crash note says so when it does.
 */
export function describeCheckpoint(protocol: Protocol, parts: readonly unknown[], records: readonly unknown[]): string {
  const head = parts[0] as { t?: string; slot?: number; kvCount?: number } | undefined;
  const log = records.length === 0 ? 'empty log' : `log: ${describeWrite(protocol, records)}`;
  if (head?.t === 'snapshot' && head.slot !== undefined)
    return `snapshot @#${head.slot} (${counted(head.kvCount ?? 0, 'key')}), ${log}`;
  return `compacted ${log}`;
}

function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
