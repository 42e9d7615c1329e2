/**
 * Plain, one-line renderings of cluster events, for `paxos up` when stdout is
 * not a terminal. Keys and values are user text and go in through showText,
 * so each event stays one line and no escape sequence reaches whoever reads
 * the output (a terminal after all, or a log file someone will `cat`).
 */
import { formatBallot } from '../core/ballot.js';
import { describeCoreEvent } from '../core/describe.js';
import { must } from '../core/must.js';
import { nodeName } from '../core/types.js';
import type { ClusterEvent } from '../node/events.js';
import { showLine, showText } from '../text/escape.js';

/** Remembers recent decisions so each chosen value is printed once, not once per replica. */
export class PlainEventPrinter {
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];

  /**
   * `hideValues` replaces each value by its length: the detached
   * orchestrator's log is a file that outlives the run and is copied into bug
   * reports, and the values are what users put in the cluster (a card number
   * in a demo), so it records that a value was chosen, not what it was.
   */
  constructor(private readonly opts: { readonly hideValues?: boolean } = {}) {}

  line(event: ClusterEvent): string | null {
    const e = this.opts.hideValues === true ? withoutValues(event) : event;
    const raw = this.unescaped(e);
    // The parts that carry user text are escaped below; showLine is the backstop for any other part that does.
    return raw === null ? null : showLine(raw);
  }

  private unescaped(e: ClusterEvent): string | null {
    const t = (atMs: number) => new Date(atMs).toISOString().slice(11, 23);
    switch (e.type) {
      case 'core': {
        if (e.event.type === 'backoff') return null;
        return `${t(e.atMs)} ${nodeName(e.node)} ${describeCoreEvent(e.event)}`;
      }
      case 'chosen':
        if (!this.firstTime(e.instance)) return null;
        return `${t(e.atMs)} chosen ${/^\d+$/.test(e.instance) ? `#${e.instance} ${showText(e.value)}` : `${showText(e.instance)}=${showText(e.value)}`}${e.ballot ? ` at ${formatBallot(e.ballot)}` : ''} (learned first by ${nodeName(e.node)})`;
      case 'replica-up':
        return `${t(e.atMs)} ${nodeName(e.node)} is up (pid ${e.pid})`;
      case 'replica-down':
        return `${t(e.atMs)} ${nodeName(e.node)} is down: ${e.reason}`;
      case 'faults':
        return `${t(e.atMs)} network: ${describeFaults(e)}`;
      case 'cluster':
        return `${t(e.atMs)} starting ${e.clusterSize} replicas (${e.protocol} paxos)`;
      default:
        return null;
    }
  }

  private firstTime(instance: string): boolean {
    if (this.seen.has(instance)) return false;
    this.seen.add(instance);
    this.order.push(instance);
    if (this.order.length > 10_000) this.seen.delete(must(this.order.shift(), 'the order is over 10,000 long'));
    return true;
  }
}

/** The event with every value it carries replaced by a note of its length. */
function withoutValues(e: ClusterEvent): ClusterEvent {
  if (e.type === 'chosen') return { ...e, value: hiddenValue(e.value) };
  if (e.type === 'core' && 'value' in e.event && typeof e.event.value === 'string')
    return { ...e, event: { ...e.event, value: hiddenValue(e.event.value) } };
  return e;
}

function hiddenValue(value: string): string {
  return `(${value.length} ${value.length === 1 ? 'character' : 'characters'}, not logged)`;
}

export function describeFaults(f: {
  partition: readonly (readonly number[])[] | null;
  delayMs: { min: number; max: number } | null;
  dropRate: number;
}): string {
  const parts: string[] = [];
  parts.push(
    f.partition
      ? `partitioned ${f.partition.map((g) => `{${g.map((n) => nodeName(n)).join(',')}}`).join(' | ')}`
      : 'no partition',
  );
  if (f.delayMs) parts.push(`delay ${f.delayMs.min}-${f.delayMs.max}ms`);
  if (f.dropRate > 0) parts.push(`drop ${Math.round(f.dropRate * 1000) / 10}%`);
  return parts.join(', ');
}
