/**
 * A small linearizability checker: Wing & Gong's search with Lowe's
 * memoisation, as in Porcupine (anishathalye/porcupine, checker.go).
 *
 * A history is linearizable when every operation can be given one instant
 * between its call and its return such that, taken in that order, a
 * sequential model produces exactly the observed results. Histories of a
 * key-value store are checked one key at a time (P-compositionality: the
 * whole history is linearizable iff every key's sub-history is), which keeps
 * each search small.
 *
 * An operation whose outcome the client never learned (a timeout, a crash)
 * stays open forever, as in etcd's robustness tests: it may take effect at
 * any instant after its call, or never.
 *
 * How the search works: calls and returns are laid out in one list in time
 * order. Walking from the front, the checker tries to linearize each call it
 * meets (apply it to the model now); on success the op's call and return
 * leave the list and the walk restarts from the front. Meeting a return
 * means that op had to take effect before this instant and nothing tried so
 * far allowed it, so the last choice is undone. A pair (set of linearized
 * ops, model state) that was reached before is never explored again: what
 * remains to be placed depends only on that pair.
 *
 * What a step costs: as in Porcupine, the set of linearized ops is a bitset
 * of 32-bit words, and the memo table is bucketed by a hash and compared
 * exactly. Unlike Porcupine, which rehashes and clones the whole bitset on
 * every step, the hash here is kept incrementally (the XOR of a fixed random
 * 32-bit value per linearized op) and the bit is set in place, so a step that
 * does not add a memo entry costs O(1) besides the model's own step; the set
 * is copied only into a new memo entry and compared word by word only
 * against entries whose hash matches. A memo entry stores only the words that
 * are neither all ones (ops long done) nor all zeros (ops not called yet),
 * usually a handful even over thousands of ops (see LinearizedSet).
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** undefined while the client never learned the outcome (timeout, crash): the op stays open forever. */
  readonly output?: O;
  readonly callTime: number;
  /** Infinity for an open operation. */
  readonly returnTime: number;
}

export interface Model<S, I, O> {
  readonly init: () => S;
  /** Whether `input` applied to `state` may return `output` (output undefined = any output), and the next state. */
  readonly step: (state: S, input: I, output: O | undefined) => { ok: boolean; state: S };
  /** A stable string of a state, for memoisation: two states are the same state iff their keys are equal. */
  readonly key: (state: S) => string;
  /** A short human description of one operation, for failure reasons; JSON when absent. */
  readonly describe?: (input: I, output: O | undefined) => string;
  /**
   * Whether the operation never changes the state (a read). An open read-only
   * op constrains nothing and changes nothing, so the key-value checker leaves
   * it out, which shrinks the search.
   */
  readonly isReadOnly?: (input: I) => boolean;
}

export type CheckResult = { ok: true } | { ok: false; reason: string } | { ok: 'unknown'; reason: string };

export interface CheckOptions {
  /** Search steps per key before giving up with `ok: 'unknown'`; it also bounds the memo table. */
  readonly maxSteps?: number;
  /**
   * A time budget in milliseconds for the whole call, measured with
   * `performance.now()` every 1024 steps. Running out gives
   * `ok: 'unknown'` for what is left, never a pass. None by default, so that a
   * seeded simulation's verdict does not depend on the machine's speed.
   */
  readonly deadlineMs?: number;
}

export const DEFAULT_MAX_STEPS = 1_000_000;

/** A history that no recorder should produce (times out of order, an output on an open op): a bug in the caller. */
export class MalformedHistoryError extends Error {}

/** The clock is read once per this many steps: `performance.now()` costs about as much as a few dozen steps. */
const DEADLINE_CHECK_INTERVAL_STEPS = 1024;

/** The end of the entry list, and "no return" on an open op's call. */
const NIL = -1;

/** The sentinel entry at the front of the list. */
const HEAD = 0;

function validate<I, O>(history: readonly Operation<I, O>[]): void {
  history.forEach((h, i) => {
    if (!Number.isFinite(h.callTime) || Number.isNaN(h.returnTime) || h.returnTime < h.callTime) {
      throw new MalformedHistoryError(
        `operation ${i} (client ${h.clientId}) has call time ${h.callTime} and return time ${h.returnTime}`,
      );
    }
    // An open op may be left out of the linearization, so an output on it would go unchecked.
    if (h.returnTime === Infinity && h.output !== undefined) {
      throw new MalformedHistoryError(`operation ${i} (client ${h.clientId}) never returned but has an output`);
    }
  });
}

/** Murmur3's finaliser: a bijection on 32-bit integers that spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The fixed random value a bit contributes to the hash of any set containing it. */
const bitHash = (bit: number): number => fmix32(Math.imul(bit + 1, 0x9e3779b9));

/** The value a model state (by its interned id) contributes to a memo entry's hash. */
const stateHash = (stateId: number): number => fmix32(stateId ^ 0x5bd1e995);

/**
 * Each op's bit in the linearized set: completed ops by call time (ties by
 * position) from bit 0, open ops the same way from `openStart` words on (see
 * LinearizedSet).
 */
function bitsByCallTime(history: readonly Operation<unknown, unknown>[], openStart: number): Int32Array {
  const order = history.map((_, op) => op).sort((a, b) => history[a].callTime - history[b].callTime || a - b);
  const bitOf = new Int32Array(history.length);
  let nextCompleted = 0;
  let nextOpen = openStart * 32;
  for (const op of order) bitOf[op] = history[op].returnTime === Infinity ? nextOpen++ : nextCompleted++;
  return bitOf;
}

// ------------------------------------------------------------- entry list

/**
 * Calls and returns in time order as a doubly-linked list in typed arrays,
 * behind a sentinel head (entry 0). At equal times calls come first, so
 * intervals that only touch count as overlapping: the recorder's clock cannot
 * tell which of two same-instant events happened first, and assuming an order
 * it cannot see could report a violation that never was.
 */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The op an entry belongs to; -1 on the head. */
  readonly opOf: Int32Array;
  /** On a call: its return entry, NIL for an open op. On a return: the entry's own call. */
  readonly matchOf: Int32Array;
  readonly isCall: Uint8Array;

  constructor(history: readonly Operation<unknown, unknown>[]) {
    const events: { op: number; isCall: boolean; time: number }[] = [];
    history.forEach((h, op) => {
      events.push({ op, isCall: true, time: h.callTime });
      if (h.returnTime !== Infinity) events.push({ op, isCall: false, time: h.returnTime });
    });
    events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
    const size = events.length + 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.opOf = new Int32Array(size);
    this.matchOf = new Int32Array(size).fill(NIL);
    this.isCall = new Uint8Array(size);
    this.opOf[HEAD] = -1;
    this.prev[HEAD] = NIL;
    const callEntryOf = new Int32Array(history.length);
    events.forEach((ev, i) => {
      const e = i + 1;
      this.prev[e] = e - 1;
      this.next[e - 1] = e;
      this.opOf[e] = ev.op;
      this.isCall[e] = ev.isCall ? 1 : 0;
      if (ev.isCall) {
        callEntryOf[ev.op] = e;
      } else {
        this.matchOf[e] = callEntryOf[ev.op];
        this.matchOf[callEntryOf[ev.op]] = e;
      }
    });
    this.next[size - 1] = NIL;
  }

  private unlink(e: number): void {
    const before = this.prev[e];
    const after = this.next[e];
    this.next[before] = after;
    if (after !== NIL) this.prev[after] = before;
  }

  private relink(e: number): void {
    const after = this.next[e];
    this.next[this.prev[e]] = e;
    if (after !== NIL) this.prev[after] = e;
  }

  /** Takes a linearized op's call and return out of the list. */
  lift(call: number): void {
    this.unlink(call);
    const ret = this.matchOf[call];
    if (ret !== NIL) this.unlink(ret);
  }

  /** Puts them back, in the reverse order of `lift`, which restores every pointer. */
  unlift(call: number): void {
    const ret = this.matchOf[call];
    if (ret !== NIL) this.relink(ret);
    this.relink(call);
  }
}

// ------------------------------------------------------------- linearized set

/**
 * The set of linearized ops as a bitset of 32-bit words, with its hash kept
 * incrementally. Completed ops are numbered by call time, so in any set the
 * search reaches, their words are mostly a run of all-ones (ops long done),
 * then a few mixed words (the ops in flight), then zeros (ops not called
 * yet). The set tracks where that middle stretch lies, and a memo entry
 * stores only it. Open ops get words of their own after those: one of them
 * may never be linearized, and its zero bit among the completed ones would
 * end the all-ones run for good.
 */
class LinearizedSet {
  readonly words: Uint32Array;
  /** Completed ops' bits are in words[0 .. openStart); open ops' bits in words[openStart ..). */
  readonly openStart: number;
  /** words[0 .. fullWords) are all ones. */
  fullWords = 0;
  /** words[usedWords .. openStart) are all zero; fullWords ≤ usedWords ≤ openStart. */
  usedWords = 0;
  /** words[openUsed ..) are all zero; openStart ≤ openUsed. */
  openUsed: number;
  hash = 0;

  constructor(completedOps: number, openOps: number) {
    this.openStart = Math.ceil(completedOps / 32);
    this.openUsed = this.openStart;
    this.words = new Uint32Array(this.openStart + Math.ceil(openOps / 32));
  }

  /** Words a memo entry stores: the completed ops' middle stretch, then the open ops' words up to the last non-zero one. */
  get storedWords(): number {
    return this.usedWords - this.fullWords + this.openUsed - this.openStart;
  }

  add(bit: number, bitHash: number): void {
    const w = bit >>> 5;
    this.words[w] |= 1 << (bit & 31);
    this.hash ^= bitHash;
    if (w >= this.openStart) {
      if (w >= this.openUsed) this.openUsed = w + 1;
      return;
    }
    if (w >= this.usedWords) this.usedWords = w + 1;
    while (this.fullWords < this.usedWords && this.words[this.fullWords] === 0xffffffff) this.fullWords++;
  }

  remove(bit: number, bitHash: number): void {
    const w = bit >>> 5;
    this.words[w] &= ~(1 << (bit & 31));
    this.hash ^= bitHash;
    if (w >= this.openStart) {
      while (this.openUsed > this.openStart && this.words[this.openUsed - 1] === 0) this.openUsed--;
      return;
    }
    if (w < this.fullWords) this.fullWords = w;
    while (this.usedWords > this.fullWords && this.words[this.usedWords - 1] === 0) this.usedWords--;
  }
}

// ------------------------------------------------------------- memo table

const INITIAL_MEMO_CAPACITY = 256;

/**
 * The (linearized set, model state) pairs already explored: a chained hash
 * table over flat typed arrays, so adding an entry allocates nothing until
 * the table doubles. An entry holds its set's count of leading all-ones words
 * and the mixed words after them, which for a search over thousands of ops is
 * a handful of words instead of one per 32 ops.
 */
class MemoTable {
  private capacity = INITIAL_MEMO_CAPACITY;
  private stateIds = new Int32Array(INITIAL_MEMO_CAPACITY);
  private hashes = new Int32Array(INITIAL_MEMO_CAPACITY);
  /** The next entry in the same bucket, NIL at the end. */
  private chain = new Int32Array(INITIAL_MEMO_CAPACITY);
  /** The first entry of each bucket; there are as many buckets as the capacity, a power of two. */
  private heads = new Int32Array(INITIAL_MEMO_CAPACITY).fill(NIL);
  private fullWords = new Int32Array(INITIAL_MEMO_CAPACITY);
  /** How many of entry i's stored words belong to completed ops; the rest are the open ops' words. */
  private usedWords = new Int32Array(INITIAL_MEMO_CAPACITY);
  /** Entry i's mixed words are middle[middleStart[i] .. middleStart[i + 1]). */
  private middleStart = new Int32Array(INITIAL_MEMO_CAPACITY + 1);
  private middle = new Uint32Array(INITIAL_MEMO_CAPACITY * 2);
  size = 0;

  /** Adds the pair unless it is there; returns whether it was added (i.e. is new). */
  addIfAbsent(set: LinearizedSet, stateId: number, hash: number): boolean {
    for (let i = this.heads[hash & (this.capacity - 1)]; i !== NIL; i = this.chain[i]) {
      if (this.hashes[i] === hash && this.stateIds[i] === stateId && this.sameSet(i, set)) return false;
    }
    if (this.size === this.capacity) this.grow();
    this.append(set, stateId, hash);
    return true;
  }

  private sameSet(entry: number, set: LinearizedSet): boolean {
    let k = this.middleStart[entry];
    if (this.fullWords[entry] !== set.fullWords || this.usedWords[entry] !== set.usedWords) return false;
    if (this.middleStart[entry + 1] - k !== set.storedWords) return false;
    for (let w = set.fullWords; w < set.usedWords; w++, k++) {
      if (this.middle[k] !== set.words[w]) return false;
    }
    for (let w = set.openStart; w < set.openUsed; w++, k++) {
      if (this.middle[k] !== set.words[w]) return false;
    }
    return true;
  }

  private append(set: LinearizedSet, stateId: number, hash: number): void {
    const i = this.size++;
    const start = this.middleStart[i];
    const end = start + set.storedWords;
    if (end > this.middle.length) this.middle = grown(this.middle, Math.max(end, this.middle.length * 2));
    // Plain loops: `subarray` would allocate a view object on every new entry.
    let k = start;
    for (let w = set.fullWords; w < set.usedWords; w++) this.middle[k++] = set.words[w];
    for (let w = set.openStart; w < set.openUsed; w++) this.middle[k++] = set.words[w];
    this.middleStart[i + 1] = end;
    this.fullWords[i] = set.fullWords;
    this.usedWords[i] = set.usedWords;
    this.stateIds[i] = stateId;
    this.hashes[i] = hash;
    const bucket = hash & (this.capacity - 1);
    this.chain[i] = this.heads[bucket];
    this.heads[bucket] = i;
  }

  /** Doubles the per-entry arrays and rebuilds the buckets from the stored hashes. */
  private grow(): void {
    this.capacity *= 2;
    this.stateIds = grown(this.stateIds, this.capacity);
    this.hashes = grown(this.hashes, this.capacity);
    this.fullWords = grown(this.fullWords, this.capacity);
    this.usedWords = grown(this.usedWords, this.capacity);
    this.middleStart = grown(this.middleStart, this.capacity + 1);
    this.chain = new Int32Array(this.capacity);
    this.heads = new Int32Array(this.capacity).fill(NIL);
    for (let i = 0; i < this.size; i++) {
      const bucket = this.hashes[i] & (this.capacity - 1);
      this.chain[i] = this.heads[bucket];
      this.heads[bucket] = i;
    }
  }
}

/** A copy of `array` with room for `length` elements. */
function grown<T extends Uint32Array | Int32Array>(array: T, length: number): T {
  const copy = new (array.constructor as new (length: number) => T)(length);
  copy.set(array);
  return copy;
}

// ------------------------------------------------------------- the search

/** How a run of the search ended: decided, or paused by one of the two budgets. */
type SearchOutcome = 'linearizable' | 'violation' | 'step-budget' | 'time-budget';

/** The longest order of ops the search managed to place, and the op whose return then blocked it. */
interface Longest {
  ops: number[];
  stuckOp: number;
}

/**
 * One key's search, resumable: `run` stops when a budget runs out and a later
 * `run` with a larger budget continues exactly where it stopped. That lets
 * the key-value checker give every key a short first try before any key gets
 * a long one.
 */
class Search<S, I, O> {
  readonly history: readonly Operation<I, O>[];
  private readonly model: Model<S, I, O>;
  private readonly list: EntryList;
  private readonly memo = new MemoTable();
  /** Each op's bit in the linearized set, numbered so that sets stay compact (see bitsByCallTime and LinearizedSet). */
  private readonly bitOf: Int32Array;
  /** The fixed random value each op's bit contributes to the set's hash. */
  private readonly bitHashOf: Int32Array;
  private readonly isOpen: Uint8Array;
  /** State keys interned as small integers, so a memo entry holds a number and compares in one instruction. */
  private readonly stateIdByKey = new Map<string, number>();
  private readonly linearized: LinearizedSet;
  private state: S;
  // The stack of choices: the call linearized and the state before it.
  private readonly stackCalls: Int32Array;
  private readonly stackStates: S[] = [];
  private depth = 0;
  private entry: number;
  private completedLeft: number;
  steps = 0;
  readonly longest: Longest = { ops: [], stuckOp: -1 };

  constructor(model: Model<S, I, O>, history: readonly Operation<I, O>[]) {
    this.model = model;
    this.history = history;
    this.list = new EntryList(history);
    this.isOpen = Uint8Array.from(history, (h) => (h.returnTime === Infinity ? 1 : 0));
    const openOps = this.isOpen.reduce((n, open) => n + open, 0);
    // Open ops may be left out, so the search is done once every completed op is placed.
    this.completedLeft = history.length - openOps;
    this.linearized = new LinearizedSet(this.completedLeft, openOps);
    this.bitOf = bitsByCallTime(history, this.linearized.openStart);
    this.bitHashOf = Int32Array.from(this.bitOf, (bit) => bitHash(bit));
    this.stackCalls = new Int32Array(history.length);
    this.state = model.init();
    this.entry = this.list.next[HEAD];
  }

  /**
   * Primitive states (a register's string or null) remember their id, which
   * spares building the key string on every step. It stays exact: the id
   * still comes from the key the first time, so equal keys share one id.
   */
  private readonly stateIdByPrimitive = new Map<unknown, number>();

  private stateId(state: S): number {
    if (typeof state === 'object' && state !== null) return this.stateIdOfKey(this.model.key(state));
    let id = this.stateIdByPrimitive.get(state);
    if (id === undefined) {
      id = this.stateIdOfKey(this.model.key(state));
      this.stateIdByPrimitive.set(state, id);
    }
    return id;
  }

  private stateIdOfKey(key: string): number {
    let id = this.stateIdByKey.get(key);
    if (id === undefined) {
      id = this.stateIdByKey.size;
      this.stateIdByKey.set(key, id);
    }
    return id;
  }

  /** Searches until decided, until `steps` reaches `stepLimit`, or until the clock passes `deadlineAtMs`. */
  run(stepLimit: number, deadlineAtMs: number): SearchOutcome {
    const timed = deadlineAtMs !== Infinity;
    if (timed && this.completedLeft > 0 && performance.now() >= deadlineAtMs) return 'time-budget';
    const { next, opOf, isCall } = this.list;
    while (this.completedLeft > 0) {
      if (this.steps >= stepLimit) return 'step-budget';
      if (timed && this.steps % DEADLINE_CHECK_INTERVAL_STEPS === 0 && performance.now() >= deadlineAtMs)
        return 'time-budget';
      this.steps++;
      const e = this.entry;
      if (e !== NIL && isCall[e] === 1) {
        this.entry = this.tryLinearize(e, opOf[e]) ? next[HEAD] : next[e];
        continue;
      }
      // A return whose op is not linearized yet: nothing placed so far lets it take effect in time. Undo the last choice.
      this.noteDeadEnd(e);
      if (this.depth === 0) return 'violation';
      this.entry = next[this.backtrack()];
    }
    return 'linearizable';
  }

  /** Applies op (whose call is entry `e`) now, unless the model refuses it or the resulting pair was explored already. */
  private tryLinearize(e: number, op: number): boolean {
    const h = this.history[op];
    const result = this.model.step(this.state, h.input, h.output);
    if (!result.ok) return false;
    const nextStateId = this.stateId(result.state);
    const set = this.linearized;
    // The bit is set in place and taken back if the pair is not new, instead of cloning the set as Porcupine does.
    set.add(this.bitOf[op], this.bitHashOf[op]);
    if (!this.memo.addIfAbsent(set, nextStateId, set.hash ^ stateHash(nextStateId))) {
      set.remove(this.bitOf[op], this.bitHashOf[op]);
      return false;
    }
    this.stackCalls[this.depth] = e;
    this.stackStates[this.depth] = this.state;
    this.depth++;
    this.state = result.state;
    if (this.isOpen[op] === 0) this.completedLeft--;
    this.list.lift(e);
    return true;
  }

  /** Undoes the last choice and returns the call entry it had linearized. */
  private backtrack(): number {
    this.depth--;
    const call = this.stackCalls[this.depth];
    const op = this.list.opOf[call];
    this.list.unlift(call);
    this.state = this.stackStates[this.depth];
    this.linearized.remove(this.bitOf[op], this.bitHashOf[op]);
    if (this.isOpen[op] === 0) this.completedLeft++;
    return call;
  }

  private noteDeadEnd(entry: number): void {
    if (this.longest.stuckOp >= 0 && this.depth <= this.longest.ops.length) return;
    this.longest.ops = Array.from(this.stackCalls.subarray(0, this.depth), (call) => this.list.opOf[call]);
    this.longest.stuckOp = entry === NIL ? -1 : this.list.opOf[entry];
  }

  /** Memo entries held, for tests and benchmarks. */
  get memoSize(): number {
    return this.memo.size;
  }
}

const SHOWN_PREFIX_OPS = 4;

/** A call or return time as people read it: the simulator's whole ticks as they are, a real run's milliseconds to a tenth (performance.now has a dozen digits). */
function time(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(1);
}

function explain<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], longest: Longest): string {
  const show = (op: number): string => {
    const h = history[op];
    const what =
      model.describe?.(h.input, h.output) ??
      `${JSON.stringify(h.input)} → ${h.output === undefined ? '?' : JSON.stringify(h.output)}`;
    return `client ${h.clientId} ${what} [${time(h.callTime)}, ${h.returnTime === Infinity ? 'open' : time(h.returnTime)}]`;
  };
  const placed = longest.ops;
  const tail = placed.slice(-SHOWN_PREFIX_OPS).map(show).join(', ');
  const prefix =
    placed.length === 0
      ? 'no operation can be placed first'
      : `at most ${placed.length} can be placed in a consistent order (${placed.length > SHOWN_PREFIX_OPS ? '…, ' : ''}${tail})`;
  const stuck =
    longest.stuckOp >= 0 ? `; then nothing can take effect before this one returned: ${show(longest.stuckOp)}` : '';
  const count = history.length === 1 ? '1 operation' : `${history.length} operations`;
  return `no order of the ${count} explains the results: ${prefix}${stuck}`;
}

function giveUpReason(
  outcome: 'step-budget' | 'time-budget',
  steps: number,
  ops: number,
  options: CheckOptions,
): string {
  if (outcome === 'step-budget') return `gave up after ${steps} search steps over ${ops} operations (the step budget)`;
  if (steps === 0) return `not searched: the time budget of ${options.deadlineMs} ms ran out first`;
  return `gave up after ${steps} search steps over ${ops} operations: the time budget of ${options.deadlineMs} ms ran out`;
}

/** One key's (or one history's) verdict. */
export interface KeyVerdict {
  readonly key: string;
  readonly ok: true | false | 'unknown';
  readonly steps: number;
  /** Why not linearizable, or why undecided; absent on a pass. */
  readonly reason?: string;
  /**
   * On a violation, the operations that show it: the last few of the longest
   * order the search could place, and the one that then could not take effect
   * (the same objects as in the history given), for a report to point at.
   */
  readonly witness?: readonly unknown[];
}

function verdictOf<S, I, O>(
  key: string,
  search: Search<S, I, O>,
  outcome: SearchOutcome,
  model: Model<S, I, O>,
  options: CheckOptions,
): KeyVerdict {
  const { steps, history } = search;
  if (outcome === 'linearizable') return { key, ok: true, steps };
  if (outcome === 'violation') {
    const { ops, stuckOp } = search.longest;
    const witness = [...ops.slice(-5), ...(stuckOp >= 0 ? [stuckOp] : [])].map((i) => history[i]);
    return { key, ok: false, steps, reason: explain(model, history, search.longest), witness };
  }
  return { key, ok: 'unknown', steps, reason: giveUpReason(outcome, steps, history.length, options) };
}

/**
 * A value whose absence would be a bug in this file: it fails loudly naming
 * the invariant. Local (like core's `must`) so that the checker needs only itself.
 */
function must<T>(value: T, invariant: string): NonNullable<T> {
  if (value === undefined || value === null) throw new Error(`broken invariant: ${invariant}`);
  return value;
}

const deadlineAt = (startMs: number, options: CheckOptions): number =>
  options.deadlineMs === undefined ? Infinity : startMs + options.deadlineMs;

/**
 * Checks one history against a sequential model. Returns `ok: 'unknown'`
 * when the search needs more than `maxSteps` steps (it is exponential in the
 * worst case) or more than `deadlineMs`; never hangs, and never passes a
 * history it did not finish.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult & { steps: number } {
  const startMs = performance.now();
  validate(history);
  const search = new Search(model, history);
  const outcome = search.run(options.maxSteps ?? DEFAULT_MAX_STEPS, deadlineAt(startMs, options));
  const verdict = verdictOf('', search, outcome, model, options);
  return verdict.ok === true
    ? { ok: true, steps: verdict.steps }
    : { ok: verdict.ok, reason: must(verdict.reason, 'a verdict other than a pass says why'), steps: verdict.steps };
}

// ------------------------------------------------------------- per key

export function partitionByKey<I extends { key: string }, O>(
  history: readonly Operation<I, O>[],
): Map<string, Operation<I, O>[]> {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const h of history) {
    const list = byKey.get(h.input.key);
    if (list === undefined) byKey.set(h.input.key, [h]);
    else list.push(h);
  }
  return byKey;
}

/** The verdict of a whole key-value history, with every key's own. */
export type KvCheckResult = CheckResult & {
  /** Every key, in the order checked (fewest operations first). */
  readonly keys: readonly KeyVerdict[];
  /** Keys whose sub-history is not linearizable. */
  readonly violatingKeys: readonly string[];
  /** Keys whose search gave up (step or time budget). */
  readonly undecidedKeys: readonly string[];
  /** Search steps over all keys. */
  readonly steps: number;
};

/**
 * The first try every key gets before any key gets more: enough to decide
 * the sub-histories a simulation produces, small enough that one hard key
 * cannot delay a cheap verdict on another.
 */
const FIRST_PASS_STEPS = 10_000;

/** Keys in the order they are checked: fewer operations first (so violations surface fast), then by name, for determinism. */
function keysBySize<I extends { key: string }, O>(history: readonly Operation<I, O>[]): [string, Operation<I, O>[]][] {
  return [...partitionByKey(history)].sort(
    ([ka, a], [kb, b]) => a.length - b.length || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
}

/**
 * Checks a key-value history one key at a time, every key. A key that is not
 * linearizable makes the verdict `ok: false`; `ok: 'unknown'` only when no
 * key is and some key gave up; so a search that gave up never hides a bug
 * found elsewhere, and never passes. Every key first gets a short search
 * (smallest first), then the undecided ones get the rest of `maxSteps`.
 */
export function checkKvHistory<S, I extends { key: string }, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): KvCheckResult {
  const startMs = performance.now();
  validate(history);
  const deadlineAtMs = deadlineAt(startMs, options);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  // A read whose result nobody saw changes nothing and constrains nothing: leaving it out shrinks the search.
  const readOnly = model.isReadOnly;
  const relevant =
    readOnly === undefined ? history : history.filter((h) => !(h.output === undefined && readOnly(h.input)));
  const keys: KeyCheck<S, I, O>[] = keysBySize(relevant).map(([key, ops]) => ({
    key,
    search: new Search(model, ops),
    verdict: null,
  }));
  for (const stepBudget of new Set([Math.min(FIRST_PASS_STEPS, maxSteps), maxSteps])) {
    for (const k of keys) {
      if (k.search === null) continue;
      k.verdict = verdictOf(k.key, k.search, k.search.run(stepBudget, deadlineAtMs), model, options);
      // A decided key's memo table may hold a million entries: let it go before the next key's search grows its own.
      if (k.verdict.ok !== 'unknown') k.search = null;
    }
  }
  return summarise(keys.map((k) => must(k.verdict, 'the first pass gives every key a verdict')));
}

/** One key's search while it is undecided (null once decided), and its latest verdict. */
interface KeyCheck<S, I, O> {
  readonly key: string;
  search: Search<S, I, O> | null;
  verdict: KeyVerdict | null;
}

function summarise(keys: KeyVerdict[]): KvCheckResult {
  const violating = keys.filter((k) => k.ok === false);
  const undecided = keys.filter((k) => k.ok === 'unknown');
  const details = {
    keys,
    violatingKeys: violating.map((k) => k.key),
    undecidedKeys: undecided.map((k) => k.key),
    steps: keys.reduce((n, k) => n + k.steps, 0),
  };
  const undecidedNote = undecided.length === 0 ? '' : `; undecided: ${details.undecidedKeys.join(', ')}`;
  if (violating.length > 0) {
    const others = violating.length > 1 ? `; also not linearizable: ${details.violatingKeys.slice(1).join(', ')}` : '';
    return {
      ok: false,
      reason: `key ${violating[0].key}: ${violating[0].reason}${others}${undecidedNote}`,
      ...details,
    };
  }
  if (undecided.length > 0) {
    return { ok: 'unknown', reason: undecided.map((k) => `key ${k.key}: ${k.reason}`).join('; '), ...details };
  }
  return { ok: true, ...details };
}

// ------------------------------------------------------------- key-value register

export type KvInput = { op: 'set'; key: string; value: string } | { op: 'get'; key: string };
export type KvOutput = { value: string | null };

const registerStateKey = (state: string | null): string => (state === null ? '∅' : `=${state}`);
const isGet = (input: { op: string }): boolean => input.op === 'get';

function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const result = output === undefined ? '?' : output.value === null ? 'null' : JSON.stringify(output.value);
  return input.op === 'set'
    ? `set ${input.key}=${JSON.stringify(input.value)} → ${result}`
    : `get ${input.key} → ${result}`;
}

/** Multi-Paxos: a plain register per key. set returns its own value; get returns the current value or null. */
export const registerModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const next = input.op === 'set' ? input.value : state;
    const result = input.op === 'set' ? input.value : state;
    return { ok: output === undefined || output.value === result, state: next };
  },
  key: registerStateKey,
  describe: describeKv,
  isReadOnly: isGet,
};

/**
 * Basic Paxos: a write-once register per key. set(v) on an unset key makes it
 * v; on a set key it changes nothing. Either way it returns the (now) chosen
 * value. get returns the chosen value or null.
 */
export const writeOnceModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const next = input.op === 'set' ? (state ?? input.value) : state;
    return { ok: output === undefined || output.value === next, state: next };
  },
  key: registerStateKey,
  describe: describeKv,
  isReadOnly: isGet,
};

// ------------------------------------------------------------- compare-and-set register

export type CasInput =
  | { op: 'set'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expect: string | null; value: string };
/** set and cas answer whether they took effect (set always does); get answers the value. */
export type CasOutput = { ok: boolean } | { value: string | null };

function casResult(state: string | null, input: CasInput): { output: CasOutput; state: string | null } {
  if (input.op === 'get') return { output: { value: state }, state };
  if (input.op === 'set') return { output: { ok: true }, state: input.value };
  return state === input.expect ? { output: { ok: true }, state: input.value } : { output: { ok: false }, state };
}

function sameCasOutput(a: CasOutput, b: CasOutput): boolean {
  return 'ok' in a ? 'ok' in b && a.ok === b.ok : 'value' in b && a.value === b.value;
}

function describeCas(input: CasInput, output: CasOutput | undefined): string {
  const result =
    output === undefined ? '?' : 'ok' in output ? (output.ok ? 'ok' : 'failed') : JSON.stringify(output.value);
  if (input.op === 'get') return `get ${input.key} → ${result}`;
  if (input.op === 'set') return `set ${input.key}=${JSON.stringify(input.value)} → ${result}`;
  return `cas ${input.key} ${JSON.stringify(input.expect)}→${JSON.stringify(input.value)} → ${result}`;
}

/**
 * A register with compare-and-set per key: set(v) → {ok: true}; get →
 * {value}; cas(expect, v) makes it v and answers {ok: true} iff it held
 * `expect` (null: never written), else changes nothing and answers {ok: false}.
 */
export const casRegisterModel: Model<string | null, CasInput, CasOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const r = casResult(state, input);
    return { ok: output === undefined || sameCasOutput(r.output, output), state: r.state };
  },
  key: registerStateKey,
  describe: describeCas,
  isReadOnly: isGet,
};

// ------------------------------------------------------------- append-only list

export type AppendInput = { op: 'append'; key: string; value: string } | { op: 'read'; key: string };
/** append answers {ok: true}; read answers the whole list, oldest first. */
export type AppendOutput = { ok: true } | { list: readonly string[] };

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeAppend(input: AppendInput, output: AppendOutput | undefined): string {
  const result = output === undefined ? '?' : 'ok' in output ? 'ok' : JSON.stringify(output.list);
  return input.op === 'append'
    ? `append ${input.key} ${JSON.stringify(input.value)} → ${result}`
    : `read ${input.key} → ${result}`;
}

/** A list per key that only grows: append(x) adds x at the end; read returns the list. */
export const appendListModel: Model<readonly string[], AppendInput, AppendOutput> = {
  init: () => [],
  step: (state, input, output) => {
    if (input.op === 'append') return { ok: output === undefined || 'ok' in output, state: [...state, input.value] };
    return { ok: output === undefined || ('list' in output && sameList(state, output.list)), state };
  },
  // JSON escapes every value, so two different lists never share a key.
  key: (state) => JSON.stringify(state),
  describe: describeAppend,
  isReadOnly: (input) => input.op === 'read',
};
