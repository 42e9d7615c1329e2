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
 *   replica's last request of its incarnation (`as node-i.<incarnation>:<seq>`),
 *   so it is enabled only once that replica numbered one: a stop-sign chosen
 *   and then refused as a duplicate. (An identity not yet handed out would be
 *   taken by the replica's next request instead, a later client's problem.)
 *
 * Change i goes to node ((i - 1) mod n) + 1, as request i does.
 */
export type ChangeKind = 'remove' | 'add' | 'future' | 'reuse';
export const CHANGE_KINDS: readonly ChangeKind[] = ['remove', 'add', 'future', 'reuse'];

/** The replicas of the first configuration, 1..n. */
function first(nodes: number): number[] {
  return Array.from({ length: nodes }, (_, i) => i + 1);
}

/** The identity a `reuse` change is sent under: the replica's last one. */
export interface LastIdentity {
  readonly incarnation: number;
  readonly seq: number;
}

/**
 * The scenario command a change of this kind becomes, sent to `node`; a `reuse` change with `last` gets its `as`
 * clause (without it, the command's text before the clause, which names the change in a path).
 */
export function changeCommand(o: { kind: ChangeKind; node: number; nodes: number; last?: LastIdentity }): string {
  const { kind, node, nodes, last } = o;
  switch (kind) {
    case 'remove':
      return `reconfigure ${node} 0 ${first(nodes - 1).join(',')}`;
    case 'add':
      return `reconfigure ${node} 0 ${first(nodes + 1).join(',')}`;
    case 'future':
      return `reconfigure ${node} 1 ${nodes}`;
    case 'reuse': {
      const base = `reconfigure ${node} 0 ${first(nodes).join(',')}`;
      return last === undefined ? base : `${base} as node-${node}.${last.incarnation}:${last.seq}`;
    }
  }
}

/** A change command's text without its `as` clause. */
export function withoutIdentity(command: string): string {
  return command.replace(/ as \S+$/, '');
}

/** Whether some change adds a replica, which then joins before the search starts. */
export function needsSpare(kinds: readonly ChangeKind[]): boolean {
  return kinds.includes('add');
}
