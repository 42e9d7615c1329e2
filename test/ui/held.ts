/** Held messages as step mode's replicas describe them, for the held-list and dashboard tests. */
import type { HeldMessage } from '../../src/node/step.js';

export function heldMessage(opts: {
  id: string;
  from: number;
  to: number;
  type: string;
  ballot?: string | null;
  slot?: number | null;
  key?: string | null;
  value?: string | null;
}): HeldMessage {
  const ballot = opts.ballot ?? null;
  const slot = opts.slot ?? null;
  const value = opts.value ?? null;
  const where = slot !== null ? ` #${slot}` : '';
  const inner = [ballot, value].filter((x) => x !== null).join(', ');
  return {
    id: opts.id,
    from: opts.from,
    to: opts.to,
    type: opts.type,
    ballot,
    slot,
    key: opts.key ?? null,
    value,
    text: `node-${opts.from} → node-${opts.to} ${opts.type}${where}${inner !== '' ? ` (${inner})` : ''}`,
  };
}

/** The README's walk-through at the moment node-1's accepts for x=7 are held, and node-2's promise is still held too. */
export function acceptsHeld(): HeldMessage[] {
  return [
    heldMessage({ id: '1:3', from: 1, to: 2, type: 'accept', ballot: '1.1', slot: 1, value: 'x=7' }),
    heldMessage({ id: '1:4', from: 1, to: 3, type: 'accept', ballot: '1.1', slot: 1, value: 'x=7' }),
    heldMessage({ id: '2:1', from: 2, to: 1, type: 'promise', ballot: '1.1' }),
  ];
}
