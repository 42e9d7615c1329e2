/**
 * One fault of the disk nemesis, on a cluster of n replicas with f = (n-1)/2
 * (rounded down) allowed to fail:
 * 1. f "lagging" replicas are cut off for a moment, so the last writes are
 *    chosen without them;
 * 2. f other replicas (the victims) are crashed; while each is down a copy
 *    of its data is taken into the check's scratch directory, its data is
 *    damaged, and it is started again from it;
 * 3. a victim that refuses its data stays out and the majority goes on
 *    (the network is healed); if every victim started, the lagging replicas
 *    and the victims are cut off together from the rest, so they are a
 *    majority of their own that lacks the last writes except on the
 *    victims' disks: a victim that forgot what it acknowledged (and did not
 *    rebuild it) lets a second value be chosen, which the checks see;
 * 4. at the end the network is healed and a refused victim is brought back
 *    as an operator would (see `bringBack`).
 * Only the victims' data is ever damaged, so the damage stays on a minority;
 * the partitions are ordinary network faults, which a correct cluster
 * survives without losing a chosen value.
 */
import { join } from 'node:path';
import { Random } from '../core/random.js';
import { copyData, corruptLog, restoreData, rollBack, truncateLog, wipeData } from './disk-damage.js';
import type { DiskDamage } from './nemesis.js';
import type { NemesisDriver } from './nemesis-driver.js';

/** How long the lagging replicas are cut off before the victims crash: long enough for writes to be chosen without them. */
const LAG_WINDOW_MS = 1000;

/** What the nemesis did to one victim, for the results and the report. */
export interface DiskOutcome {
  readonly node: number;
  readonly damage: DiskDamage;
  /** What was done to its files, in a sentence. */
  readonly done: string;
  readonly started: boolean;
  /** The sentence with which it refused its data, when it did. */
  readonly refusal?: string;
  /** How a refused replica came back at the end of the fault. */
  broughtBack?: string;
}

export interface DiskFaultContext {
  readonly driver: NemesisDriver;
  readonly protocol: 'multi' | 'basic';
  /** Where copies of data live while the check runs; the check removes it at the end. */
  readonly scratchDir: string;
  /** The newest copy taken of each replica's data, kept across the faults of one run, for rollbacks. */
  readonly copies: Map<number, string>;
  readonly log: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
}

export class DiskFault {
  private victims: number[] = [];
  private lagging: number[] = [];
  /** Each victim's copy taken at this crash, before the damage: what a Basic replica is restored from. */
  private readonly atCrash = new Map<number, string>();
  readonly outcomes: DiskOutcome[] = [];

  constructor(
    private readonly c: DiskFaultContext,
    private readonly damage: DiskDamage,
    private readonly seed: number,
    /** Tells the copies of this fault from those of the others. */
    private readonly index: number,
  ) {}

  async start(members: readonly number[]): Promise<void> {
    const random = new Random(this.seed);
    const f = Math.floor((members.length - 1) / 2);
    if (f < 1)
      throw new Error(`a disk fault needs at least 3 replicas to leave a majority, and there are ${members.length}`);
    const order = shuffled(random, members);
    this.victims = order.slice(0, f).sort((a, b) => a - b);
    this.lagging = order.slice(f, 2 * f).sort((a, b) => a - b);
    const rest = members.filter((n) => !this.lagging.includes(n));
    await this.c.driver.partition([this.lagging, rest]);
    this.c.log(`  ${names(this.lagging)} cut off, so the next writes are chosen without them`);
    await this.c.sleep(LAG_WINDOW_MS);
    for (const node of this.victims) await this.hit(node, random);
    if (this.outcomes.every((o) => o.started)) {
      const together = [...this.lagging, ...this.victims].sort((a, b) => a - b);
      await this.c.driver.partition([together, members.filter((n) => !together.includes(n))]);
      this.c.log(`  ${names(together)} cut off together: they must not lose what only the victims' disks held`);
    } else {
      await this.c.driver.heal();
      this.c.log('  healed: the majority goes on while the refused replica stays out');
    }
  }

  /** Crash, copy, damage, start: one victim. */
  private async hit(node: number, random: Random): Promise<void> {
    await this.c.driver.crash(node);
    const dataDir = this.c.driver.dataDir(node);
    const copy = join(this.c.scratchDir, `fault-${this.index}-node-${node}`);
    copyData(dataDir, copy);
    this.atCrash.set(node, copy);
    const done = this.apply(node, dataDir, random);
    // This copy is the newest of the replica, for a later rollback (the one before it stays until the end of the run).
    this.c.copies.set(node, copy);
    const outcome = await this.c.driver.start(node);
    const o: DiskOutcome = outcome.started
      ? { node, damage: this.damage, done, started: true }
      : { node, damage: this.damage, done, started: false, refusal: outcome.sentence };
    this.outcomes.push(o);
    this.c.log(`  node-${node}: ${done}; ${outcome.started ? 'it started again' : `it refused: ${outcome.sentence}`}`);
  }

  private apply(node: number, dataDir: string, random: Random): string {
    switch (this.damage) {
      case 'crash':
        return 'crashed, its data left as the crash left it';
      case 'truncate':
        return truncateLog(dataDir, random);
      case 'corrupt':
        return corruptLog(dataDir, random);
      case 'wipe':
        return wipeData(dataDir);
      case 'rollback': {
        const earlier = this.c.copies.get(node);
        const done = earlier === undefined ? null : rollBack(dataDir, earlier);
        if (done !== null) return done;
        // No copy of this replica from an earlier crash that is older than its mark: cut its log instead.
        return `no earlier copy to roll back to, so ${truncateLog(dataDir, random)}`;
      }
    }
  }

  /** Heals the network and brings back every victim that refused its data. */
  async end(): Promise<void> {
    await this.c.driver.heal();
    for (const o of this.outcomes) if (!o.started) o.broughtBack = await this.bringBack(o.node);
  }

  /**
   * The way back an operator has. Multi-Paxos: `paxos replace`, as the
   * refusal sentence says: it needs no backup, it is the only way back from
   * a wiped directory, and the new member rebuilds from its peers. Basic
   * Paxos cannot change its acceptors, so the replica's data is put back as
   * it was at the crash (the copy taken before the damage, which reaches the
   * mark, so the replica accepts it) and it is started again.
   */
  private async bringBack(node: number): Promise<string> {
    try {
      if (this.c.protocol === 'multi') {
        const added = await this.c.driver.replace(node);
        return `replaced by node-${added}`;
      }
      const copy = this.atCrash.get(node);
      if (copy === undefined) return 'left down: no copy of its data was taken';
      restoreData(copy, this.c.driver.dataDir(node));
      const outcome = await this.c.driver.start(node);
      return outcome.started
        ? 'its data put back as the crash left it, and started'
        : `its data put back as the crash left it, but it refused again: ${outcome.sentence}`;
    } catch (err) {
      return `could not be brought back: ${(err as Error).message}`;
    }
  }
}

function shuffled(random: Random, items: readonly number[]): number[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

function names(nodes: readonly number[]): string {
  return nodes.map((n) => `node-${n}`).join(', ');
}
