/**
 * A canonical text of a value: two values that hold the same data encode to
 * the same text whatever order their maps, sets and object keys were filled
 * in. Functions are left out (they are code, not state).
 *
 * An object met a second time is written as a back-reference when it is a
 * class instance or a plain object of more than `SMALL_KEYS` keys: the
 * Multi-Paxos core's parts all hold one shared context (with its config and
 * rules), and writing it out under each part made the text 15 times longer;
 * this also ends every cycle through such an object. Small plain data
 * (ballots, entries, votes) is written in full wherever it appears, so equal
 * data does not depend on whether two places share one object. Where a
 * shared object is first met decides its number, so two states that share
 * differently may encode apart: that costs a merge the search misses, never
 * one it makes wrongly. A cycle of small plain objects alone fails loudly.
 */
export function canonical(value: unknown): string {
  const out: string[] = [];
  new Encoder(out).encode(value, 0);
  return out.join('');
}

/** Deeper than any state a core holds: only a cycle of plain objects gets here. */
/** Plain objects with at most this many keys are data, written in full wherever they appear. */
const SMALL_KEYS = 4;
const MAX_DEPTH = 200;

class Encoder {
  private readonly instances = new Map<object, number>();

  constructor(private out: string[]) {}

  encode(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error('canonical: a cycle of plain objects (or a structure 200 levels deep)');
    if (v === null) return void this.out.push('null');
    switch (typeof v) {
      case 'undefined':
        return void this.out.push('u');
      case 'number':
      case 'boolean':
        return void this.out.push(String(v));
      case 'bigint':
        return void this.out.push(`${v}n`);
      case 'string':
        return void this.out.push(JSON.stringify(v));
      case 'function':
      case 'symbol':
        return void this.out.push('f');
    }
    this.object(v as object, depth);
  }

  private object(o: object, depth: number): void {
    if (Array.isArray(o)) {
      this.out.push('[');
      for (const x of o) {
        this.encode(x, depth + 1);
        this.out.push(',');
      }
      return void this.out.push(']');
    }
    if (o instanceof Map || o instanceof Set) return this.collection(o, depth);
    const seen = this.instances.get(o);
    if (seen !== undefined) return void this.out.push(`@${seen}`);
    const keys = Object.keys(o).sort();
    if (Object.getPrototypeOf(o) !== Object.prototype || keys.length > SMALL_KEYS)
      this.instances.set(o, this.instances.size);
    const record = o as Record<string, unknown>;
    this.out.push('{');
    for (const k of keys) {
      const x = record[k];
      if (typeof x === 'function') continue;
      this.out.push(k, ':');
      this.encode(x, depth + 1);
      this.out.push(',');
    }
    this.out.push('}');
  }

  /**
   * A map's entries or a set's members, each encoded on its own, in sorted
   * order. (An instance first met inside one is numbered in the order the
   * collection was filled: the cores keep plain data in their maps, so this
   * only ever costs a missed merge, never a false one.)
   */
  private collection(o: Map<unknown, unknown> | Set<unknown>, depth: number): void {
    const outer = this.out;
    const items: string[] = [];
    if (o instanceof Map)
      for (const [k, x] of o) {
        this.out = [];
        this.encode(k, depth + 1);
        this.out.push(':');
        this.encode(x, depth + 1);
        items.push(this.out.join(''));
      }
    else
      for (const x of o) {
        this.out = [];
        this.encode(x, depth + 1);
        items.push(this.out.join(''));
      }
    this.out = outer;
    items.sort();
    this.out.push(o instanceof Map ? 'M{' : 'S{', items.join(','), '}');
  }
}
