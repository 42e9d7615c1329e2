/**
 * A replica's acceptor and learner state in words: the scenario runners print
 * it for `show`, and a replica process answers the step relay's state query
 * with it.
 */
import { formatBallot } from '../core/ballot.js';
import { BasicPaxos } from '../core/basic/replica.js';
import { formatLogValue } from '../core/multi/messages.js';
import { MultiPaxos } from '../core/multi/replica.js';
import type { ProtocolCore } from '../core/types.js';
import { nodeName } from '../core/types.js';

/** What a node's acceptor and learner hold, one line per key (Basic) or a summary and one line per slot (Multi), each led by `name`. */
export function describeState(name: string, core: ProtocolCore<unknown, unknown>): string[] {
  if (core instanceof BasicPaxos) {
    const s = core.inspect();
    return [...s.promised].map(([key, b]) => {
      const a = s.accepted.get(key);
      const c = s.chosen.get(key);
      return `${name} ${key}: promised ${formatBallot(b)}, accepted ${a ? `(${formatBallot(a.ballot)}, ${a.value})` : '-'}, chosen ${c ? c.value : '-'}`;
    });
  }
  const v = core.view();
  // The configuration only once it changed, so the walk-throughs of a fixed cluster read as they always did.
  const m = v.membership;
  const config =
    m !== undefined && m.epoch > 0
      ? `, ${v.member} of epoch ${m.epoch} (${m.voters.map((x) => nodeName(x)).join(', ')} from #${m.startSlot})`
      : v.member === 'learner'
        ? ', learner'
        : '';
  const lines = [
    `${name}: ${v.role}${config}, promised ${formatBallot(v.promised)}, chosen ${v.chosenCount}, commit<#${v.commitIndex}`,
  ];
  if (core instanceof MultiPaxos) {
    const s = core.inspect();
    const slots = [...new Set([...s.accepted.keys(), ...s.chosen.keys()])].sort((a, b) => a - b);
    for (const slot of slots) {
      const a = s.accepted.get(slot);
      const c = s.chosen.get(slot);
      lines.push(
        `${name} #${slot}: accepted ${a ? `(${formatBallot(a.ballot)}, ${formatLogValue(a.value)})` : '-'}, chosen ${c ? formatLogValue(c.value) : '-'}`,
      );
    }
  }
  return lines;
}
