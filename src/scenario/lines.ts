/**
 * The words a scenario's trace is written in: core events, writes, replies
 * and an acceptor's state, one line each. The scripted runner prints them,
 * and so does the live one (from what the real replicas journal), so one
 * expected trace judges both.
 */
import { formatBallot } from '../core/ballot.js';
import { coreEventSentence } from '../core/describe.js';
import type { ClientReply, Command, CoreEvent, Protocol } from '../core/types.js';
import { describeRecord } from '../trace/records.js';

/** What a node says when a client's command is answered: `replies to r1: x=7`. */
export function describeReply(protocol: Protocol, command: Command, reply: ClientReply): string {
  const to = `replies to ${reply.requestId}`;
  if (!reply.ok) {
    const error = (reply as { error?: unknown }).error;
    return `${to}: failed${typeof error === 'string' ? ` (${error})` : ''}`;
  }
  if (command.op === 'config') return `${to}: voters ${reply.value} from slot ${(reply.slot ?? 0) + 1}`;
  if (command.op === 'register') return `${to}: session ${reply.value}`;
  const shown = `${command.key}=${reply.value ?? 'nil'}`;
  if (command.op === 'get' || reply.value === command.value) return `${to}: ${shown}`;
  // Basic Paxos answers a proposal for a key chosen earlier with the chosen value; in Multi-Paxos a
  // set that answers with another value than its own is a bug (the shell itself refuses to pass it on).
  return `${to}: ${shown} (${protocol === 'basic' ? 'already chosen' : `but it proposed ${command.value}`})`;
}

export function describeRecords(protocol: Protocol, records: readonly unknown[]): string {
  return records.map((rec) => describeRecord(protocol, rec, { form: 'full' })).join(', ');
}

export function describeEvent(protocol: Protocol, e: CoreEvent): string {
  switch (e.type) {
    case 'phase1':
      return `starts phase 1 at ${formatBallot(e.ballot)}${e.instance ? ` for ${e.instance}` : ''}`;
    case 'phase2':
      if (protocol === 'multi') {
        const why = e.adopted ? ' (adopted from a promise)' : e.valueId === 'noop' ? ' (fills a hole)' : '';
        return `proposes #${e.instance} ${e.value} at ${formatBallot(e.ballot)}${why}`;
      }
      return `starts phase 2 at ${formatBallot(e.ballot)}: ${e.instance}=${e.value}${e.adopted ? ' (adopted)' : ''}`;
    case 'leader':
      return `is leader at ${formatBallot(e.ballot)}${e.epoch ? ` in epoch ${e.epoch}` : ''}`;
    case 'epoch':
      return `enters epoch ${e.epoch}: voters ${e.voters.map((v) => `node-${v}`).join(', ')} from slot ${e.startSlot}`;
    case 'follower':
      return `follows ${e.leader === null ? 'nobody' : `node-${e.leader}`}`;
    case 'preempted':
      return `pre-empted: ${formatBallot(e.ballot)} lost to ${formatBallot(e.by)}`;
    case 'backoff':
      return `backs off ${e.ticks} ticks`;
    case 'snapshot-installed':
    case 'identity-reused':
      return coreEventSentence(e);
    case 'note':
      return e.text;
  }
}

/** The word a script uses for a message: Multi-Paxos heartbeats and their acks are named apart from real accepts. */
export function messageKind(m: { readonly type: string }): string {
  if (m.type === 'accept' && 'entries' in m && (m.entries as unknown[]).length === 0) return 'heartbeat';
  if (m.type === 'accepted' && 'slots' in m && (m.slots as unknown[]).length === 0) return 'ack';
  return m.type;
}
