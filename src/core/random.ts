/**
 * A small seeded generator (mulberry32). The core never calls Math.random:
 * its only randomness (election timeouts, backoff) comes from a seed handed in
 * as input, so one seed reproduces a whole simulated run.
 */
import { must } from './must.js';

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Random.pick on an empty list');
    return must(items[this.int(0, items.length - 1)], 'an index drawn below the length is in the list');
  }

  /** A fresh 32-bit seed for a sub-generator, so parts of a run draw independently. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 4294967296));
  }
}
