import type { Random } from '../core/random.js';

/**
 * How violent one simulated run is. Every seed draws its own profile, so a
 * long run covers calm networks and hostile ones alike.
 */
export interface FaultProfile {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly minDelayMs: number;
  readonly delaySpreadMs: number;
  /** Chance per 100 ms of cutting the network in two (or healing a cut). */
  readonly partitionPer100Ms: number;
  /** Chance per 100 ms of crashing a replica. */
  readonly crashPer100Ms: number;
  /** Chance that a replica crashes halfway through handing out one Ready. */
  readonly midReadyCrashRate: number;
}

export const CALM: FaultProfile = {
  dropRate: 0, duplicateRate: 0, minDelayMs: 1, delaySpreadMs: 2,
  partitionPer100Ms: 0, crashPer100Ms: 0, midReadyCrashRate: 0,
};

export function drawProfile(random: Random): FaultProfile {
  return {
    dropRate: random.pick([0, 0, 0.01, 0.05, 0.15, 0.3]),
    duplicateRate: random.pick([0, 0, 0.02, 0.1]),
    minDelayMs: random.int(1, 3),
    delaySpreadMs: random.pick([2, 10, 40, 120]),
    partitionPer100Ms: random.pick([0, 0, 0.03, 0.1]),
    crashPer100Ms: random.pick([0, 0.02, 0.06, 0.15]),
    midReadyCrashRate: random.pick([0, 0.002, 0.01]),
  };
}

export function describeProfile(p: FaultProfile): string {
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return `drop ${pct(p.dropRate)}, dup ${pct(p.duplicateRate)}, delay ${p.minDelayMs}-${p.minDelayMs + p.delaySpreadMs}ms, ` +
    `partition ${pct(p.partitionPer100Ms)}/100ms, crash ${pct(p.crashPer100Ms)}/100ms, mid-ready crash ${pct(p.midReadyCrashRate)}`;
}
