/**
 * Schema checks for messages that arrive from the network. Anything that does
 * not match exactly is dropped by the transport (an operating error), so the
 * cores may trust the shape of every message they are handed.
 */
import type { Ballot } from './ballot.js';
import type { BasicMessage } from './basic-messages.js';
import { MAX_NODE_ID, votersProblem } from './membership.js';
import type { LogValue, MultiMessage, SlotValue } from './multi/messages.js';
import { isSnapshotPart } from './multi/snapshot-parts.js';
import type { Command, CommandIdentity, Protocol } from './types.js';

/** Largest key and value the product accepts; frames are sized to fit a full batch of them. */
export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 64 * 1024;
const MAX_ENTRIES = 4096;
const MAX_ID_CHARS = 128;

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isNodeId = (x: unknown, n: number): x is number =>
  Number.isInteger(x) && (x as number) >= 1 && (x as number) <= n;

export function isBallot(x: unknown): x is Ballot {
  return isObj(x) && isCount(x.round) && isCount(x.node);
}

export function isKey(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && Buffer.byteLength(x) <= MAX_KEY_BYTES;
}

export function isValue(x: unknown): x is string {
  return typeof x === 'string' && Buffer.byteLength(x) <= MAX_VALUE_BYTES;
}

function isCommand(x: unknown): x is Command {
  if (isObj(x) && x.op === 'config')
    return isCount(x.fromEpoch) && Array.isArray(x.voters) && votersProblem(x.voters) === null;
  if (isObj(x) && x.op === 'register') return true;
  if (!isObj(x) || !isKey(x.key)) return false;
  if (x.op === 'get') return true;
  return x.op === 'set' && isValue(x.value);
}

function isLogValue(x: unknown, n: number): x is LogValue {
  if (!isObj(x)) return false;
  if (x.kind === 'noop') return true;
  return (
    x.kind === 'cmd' &&
    typeof x.id === 'string' &&
    x.id.length <= MAX_ID_CHARS &&
    isIdentity(x.identity) &&
    x.id === `${x.identity.session}:${x.identity.seq}` &&
    isCount(x.base) &&
    isNodeId(x.origin, n) &&
    isCommand(x.command)
  );
}

export function isIdentity(x: unknown): x is CommandIdentity {
  return isObj(x) && isSession(x.session) && isCount(x.seq) && (x.seq as number) >= 1;
}

export function isSession(x: unknown): x is string {
  return typeof x === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(x);
}

function isList<T>(x: unknown, item: (y: unknown) => y is T): x is T[] {
  return Array.isArray(x) && x.length <= MAX_ENTRIES && x.every(item);
}

function isSlotValue(n: number) {
  return (x: unknown): x is SlotValue => isObj(x) && isCount(x.slot) && isLogValue(x.value, n);
}

function checkMultiBody(m: Obj, n: number): boolean {
  switch (m.type) {
    case 'prepare':
      return isCount(m.epoch) && isBallot(m.ballot) && isCount(m.fromSlot);
    case 'promise':
      return (
        isCount(m.epoch) &&
        isBallot(m.ballot) &&
        isCount(m.fromSlot) &&
        isCount(m.commitIndex) &&
        isList(m.accepted, (e): e is unknown => isSlotValue(n)(e) && isBallot((e as unknown as Obj).ballot))
      );
    case 'accept':
      return isCount(m.epoch) && isBallot(m.ballot) && isList(m.entries, isSlotValue(n)) && isCount(m.commitIndex);
    case 'accepted':
      return isCount(m.epoch) && isBallot(m.ballot) && isList(m.slots, isCount) && isCount(m.commitIndex);
    case 'reject':
      return isCount(m.epoch) && isBallot(m.ballot) && isBallot(m.promised);
    case 'forward':
      return (
        isLogValue(m.value, n) &&
        (m.value as Obj).kind === 'cmd' &&
        (m.relayed === undefined || typeof m.relayed === 'boolean')
      );
    case 'commit':
      return isCount(m.epoch) && isBallot(m.ballot) && isCount(m.commitIndex);
    case 'catchup':
      return (
        isCount(m.fromSlot) &&
        (m.snapshot === undefined || (isObj(m.snapshot) && isCount(m.snapshot.slot) && isCount(m.snapshot.part)))
      );
    case 'learn':
      return isList(m.entries, isSlotValue(n)) && isCount(m.commitIndex);
    case 'snapshot':
      return isCount(m.slot) && isCount(m.index) && isSnapshotPart(m.part);
    default:
      return false;
  }
}

const isAcceptedPair = (x: unknown): boolean => x === null || (isObj(x) && isBallot(x.ballot) && isValue(x.value));

function checkBasicBody(m: Obj): boolean {
  switch (m.type) {
    case 'prepare':
      return isKey(m.key) && isBallot(m.ballot);
    case 'promise':
      return isKey(m.key) && isBallot(m.ballot) && isAcceptedPair(m.accepted);
    case 'accept':
      return isKey(m.key) && isBallot(m.ballot) && isValue(m.value);
    case 'accepted':
      return isKey(m.key) && isBallot(m.ballot);
    case 'reject':
      return isKey(m.key) && isBallot(m.ballot) && isBallot(m.promised);
    case 'decide':
      return isKey(m.key) && (m.ballot === null || isBallot(m.ballot)) && isValue(m.value);
    case 'catchup':
      return isCount(m.fromIndex);
    case 'learn':
      return (
        isCount(m.nextIndex) &&
        isList(
          m.entries,
          (e): e is unknown =>
            isObj(e) && isKey(e.key) && isValue(e.value) && (e.ballot === null || isBallot(e.ballot)),
        )
      );
    default:
      return false;
  }
}

/** Returns the message if it is a well-formed message of `protocol` for a cluster of `clusterSize`, else null. */
export function validateMessage(
  protocol: Protocol,
  clusterSize: number,
  x: unknown,
): MultiMessage | BasicMessage | null {
  // Multi-Paxos replicas may join after the cluster was created, with ids above its first size.
  const n = protocol === 'multi' ? MAX_NODE_ID : clusterSize;
  if (!isObj(x) || !isNodeId(x.from, n) || !isNodeId(x.to, n) || x.from === x.to) return null;
  const ok = protocol === 'multi' ? checkMultiBody(x, n) : checkBasicBody(x);
  return ok ? (x as unknown as MultiMessage | BasicMessage) : null;
}

export function messageValidator(
  protocol: Protocol,
  clusterSize: number,
): (x: unknown) => (MultiMessage | BasicMessage) | null {
  return (x) => validateMessage(protocol, clusterSize, x);
}
