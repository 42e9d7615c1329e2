/**
 * Configuration changes as search actions (`paxos explore --changes`): each
 * change is one `reconfigure` scenario command, sent once at a time the
 * search chooses, shaped so the state space stays small and each shape
 * reaches a kind of stop-sign the protocol must get right:
 *
 * - `remove`: epoch 0 → the first configuration without its last replica.
 *   Two of them name epoch 0 twice, so the second is a stale administrator's
 *   change, refused once the first is applied.
 * - `add`: epoch 0 → the first configuration and one more replica, which
 *   joins as a learner before the search starts (it exists in every state).
 * - `future`: names epoch 1 while epoch 0 is in force (a confused
 *   administrator), voters the last replica alone: chosen, then refused at apply.
 * - `reuse`: epoch 0 → the same voters, sent under the identity of the
 *   replica's first request (`as node-i.1:1`), which its proposal or another
 *   change may hold: a stop-sign that is chosen and then refused as a duplicate.
 *
 * Change i goes to node ((i - 1) mod n) + 1, as request i does.
 */
export type ChangeKind = 'remove' | 'add' | 'future' | 'reuse';
export const CHANGE_KINDS: readonly ChangeKind[] = ['remove', 'add', 'future', 'reuse'];

/** The replicas of the first configuration, 1..n. */
function first(nodes: number): number[] {
  return Array.from({ length: nodes }, (_, i) => i + 1);
}

/** The scenario command change `index` (1-based) of this kind becomes, sent to `node`. */
export function changeCommand(o: { kind: ChangeKind; node: number; nodes: number }): string {
  const { kind, node, nodes } = o;
  switch (kind) {
    case 'remove':
      return `reconfigure ${node} 0 ${first(nodes - 1).join(',')}`;
    case 'add':
      return `reconfigure ${node} 0 ${first(nodes + 1).join(',')}`;
    case 'future':
      return `reconfigure ${node} 1 ${nodes}`;
    case 'reuse':
      return `reconfigure ${node} 0 ${first(nodes).join(',')} as node-${node}.1:1`;
  }
}

/** Whether some change adds a replica, which then joins before the search starts. */
export function needsSpare(kinds: readonly ChangeKind[]): boolean {
  return kinds.includes('add');
}
