/**
 * One fault of the disk nemesis, on a cluster of n replicas with f = (n-1)/2
 * (rounded down) allowed to fail:
 * 1. f "lagging" replicas are crashed for a moment, so the last writes are
 *    chosen without them (crashed rather than cut off, so clients go to the
 *    others and writes flow at full speed until the victims crash);
 * 2. f other replicas (the victims) are crashed; while each is down a copy
 *    of its data is taken into the check's scratch directory and its data is
 *    damaged (a rollback puts back the copy taken while it was down in an
 *    earlier fault, as a victim or a lagging replica);
 * 3. the lagging replicas and the victims are cut off together from the
 *    rest, and all of them started again from their data: the group is a
 *    majority of its own that holds the last writes only on the victims'
 *    disks, so a victim that forgot what it acknowledged (and did not
 *    rebuild it) lets a second value be chosen, which the checks see. A
 *    victim that refuses its data stays out, and the network is healed so
 *    the majority goes on;
 * 4. at the end the network is healed and a refused victim is brought back
 *    as an operator would (see `bringBack`).
 * Only the victims' data is ever damaged, so the damage stays on a minority.
 * For a moment (the victims' crash to the restarts) the lagging replicas and
 * the victims are down together, a majority, as in the kill-all nemesis: a
 * correct cluster stops deciding then, and loses no chosen value.
 */
import { join } from 'node:path';
import { Random } from '../core/random.js';
import { nodeName } from '../core/types.js';
import { copyData, corruptLog, restoreData, rollBack, truncateLog, wipeData } from './disk-damage.js';
import type { DiskDriver } from './disk-driver.js';
import type { DiskDamage } from './nemesis.js';

/**
 * How long the lagging replicas are down before the victims crash: long
 * enough for clients to see them down (the check polls the status every
 * 300 ms) and for writes to be chosen without them.
 */
const LAG_WINDOW_MS = 1000;

/** How long, at least, the lagging replicas and the restarted victims stay cut off together. */
const GROUP_HOLD_MS = 2000;
/**
 * How long a fault's end waits for a recovered replica's re-admission. The
 * fault is not over before it: a later fault that crashed it as a lagging
 * replica and damaged another would leave two of three voters unable to vote
 * (the rehearsal of c8bb2c2 under load: node-3 still recovering when node-2
 * was wiped, and the cluster could never elect again, as it must not).
 */
const READMISSION_TIMEOUT_MS = 20_000;

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
  readonly driver: DiskDriver;
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
  /** Lagging replicas crashed and not started again yet: the end starts them. */
  private readonly laggingDown = new Set<number>();
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

  /**
   * `leader` (Multi-Paxos, when known) is never among the lagging replicas:
   * cutting it off would spend the window on an election rather than on
   * writes. Half the time it is a victim, half the time it is left whole.
   */
  async start(members: readonly number[], leader: number | null): Promise<void> {
    const random = new Random(this.seed);
    const f = Math.floor((members.length - 1) / 2);
    if (f < 1)
      throw new Error(`a disk fault needs at least 3 replicas to leave a majority, and there are ${members.length}`);
    const others = shuffled(
      random,
      members.filter((n) => n !== leader),
    );
    const known = leader !== null && members.includes(leader);
    const order = !known ? others : random.chance(0.5) ? [leader, ...others] : [...others, leader];
    this.victims = order.slice(0, f).sort((a, b) => a - b);
    this.lagging = order.slice(f, 2 * f).sort((a, b) => a - b);
    // Crashed rather than cut off: clients see them down and write through the others at full speed meanwhile.
    for (const node of this.lagging) {
      await this.c.driver.crash(node);
      this.laggingDown.add(node);
      // While it is down anyway: a copy for a later fault to roll it back to.
      const copy = join(this.c.scratchDir, `fault-${this.index}-${nodeName(node)}`);
      copyData(this.c.driver.dataDir(node), copy);
      this.c.copies.set(node, copy);
    }
    this.c.log(`  ${names(this.lagging)} crashed, so the next writes are chosen without them`);
    await this.c.sleep(LAG_WINDOW_MS);
    const done = new Map<number, string>();
    for (const node of this.victims) done.set(node, await this.crashAndDamage(node, random));
    // Both start among themselves only: the victims cannot catch up on what they lost from the others.
    const together = [...this.lagging, ...this.victims].sort((a, b) => a - b);
    await this.c.driver.partition([together, members.filter((n) => !together.includes(n))]);
    this.c.log(`  ${names(together)} cut off together: they must not lose what only the victims' disks held`);
    for (const node of this.lagging) {
      const back = await this.c.driver.start(node);
      if (back.started) this.laggingDown.delete(node);
      else this.c.log(`  ${nodeName(node)} (crashed only) did not start again: ${back.sentence}`);
    }
    for (const [node, what] of done) await this.startVictim(node, what);
    if (this.outcomes.some((o) => !o.started)) {
      await this.c.driver.heal();
      this.c.log('  healed: the majority goes on while the refused replica stays out');
      return;
    }
    // However short the scheduled fault, the group gets time to elect a leader and serve the clients.
    await this.c.sleep(GROUP_HOLD_MS);
  }

  /** Crash, copy, damage: one victim, which stays down. */
  private async crashAndDamage(node: number, random: Random): Promise<string> {
    await this.c.driver.crash(node);
    const dataDir = this.c.driver.dataDir(node);
    const copy = join(this.c.scratchDir, `fault-${this.index}-${nodeName(node)}`);
    copyData(dataDir, copy);
    this.atCrash.set(node, copy);
    const done = this.apply(node, dataDir, random);
    // This copy is the newest of the replica, for a later rollback (the one before it stays until the end of the run).
    this.c.copies.set(node, copy);
    return done;
  }

  private async startVictim(node: number, done: string): Promise<void> {
    const outcome = await this.c.driver.start(node);
    const o: DiskOutcome = outcome.started
      ? { node, damage: this.damage, done, started: true }
      : { node, damage: this.damage, done, started: false, refusal: outcome.sentence };
    this.outcomes.push(o);
    this.c.log(
      `  ${nodeName(node)}: ${done}; ${outcome.started ? 'it started again' : `it refused: ${outcome.sentence}`}`,
    );
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
    for (const node of this.laggingDown) {
      const back = await this.c.driver.start(node);
      this.c.log(
        `  ${nodeName(node)} (crashed only): ${back.started ? 'started again' : `still down: ${back.sentence}`}`,
      );
    }
    // A victim whose start the fault never reached (a step before it failed) starts now.
    const tried = new Set(this.outcomes.map((o) => o.node));
    for (const node of this.atCrash.keys())
      if (!tried.has(node)) await this.startVictim(node, 'damaged; started at the end, as the fault stopped early');
    for (const o of this.outcomes) if (!o.started) o.broughtBack = await this.bringBack(o.node);
  }

  /**
   * The way back an operator has. Multi-Paxos: `paxos recover`, the first
   * way the refusal sentence names: it needs no backup, works from a wiped
   * directory too, and the replica votes again only once re-admitted (so a
   * recovery that let it vote on what it forgot fails the check); `paxos
   * replace` if recovering fails. Basic
   * Paxos cannot change its acceptors, so the replica's data is put back as
   * it was at the crash (the copy taken before the damage, which reaches the
   * mark, so the replica accepts it) and it is started again.
   */
  private async bringBack(node: number): Promise<string> {
    try {
      if (this.c.protocol === 'multi') {
        try {
          await this.c.driver.recover(node);
          return (await this.c.driver.readmitted(node, READMISSION_TIMEOUT_MS))
            ? 'recovered on a fresh directory (paxos recover) and re-admitted'
            : `recovered on a fresh directory (paxos recover), not re-admitted within ${READMISSION_TIMEOUT_MS / 1000} s`;
        } catch (err) {
          const added = await this.c.driver.replace(node);
          return `could not recover (${(err as Error).message}), so replaced by ${nodeName(added)}`;
        }
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
  return nodes.map((n) => nodeName(n)).join(', ');
}
