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
  /** Chance, at each crash point of a Ready (write started, write durable, each message released), of crashing right there. */
  readonly midReadyCrashRate: number;
  /** How long one disk write (with its fsync) takes: from min to min + spread, completing in order. */
  readonly writeMinMs: number;
  readonly writeSpreadMs: number;
}

export const CALM: FaultProfile = {
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  delaySpreadMs: 2,
  partitionPer100Ms: 0,
  crashPer100Ms: 0,
  midReadyCrashRate: 0,
  writeMinMs: 0.1,
  writeSpreadMs: 0.2,
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
    // From a fast SSD to a disk slower than a network round trip.
    writeMinMs: random.pick([0.05, 0.3, 1, 4]),
    writeSpreadMs: random.pick([0.1, 1, 5, 20]),
  };
}

export function describeProfile(p: FaultProfile): string {
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return (
    `drop ${pct(p.dropRate)}, dup ${pct(p.duplicateRate)}, delay ${p.minDelayMs}-${p.minDelayMs + p.delaySpreadMs}ms, ` +
    `partition ${pct(p.partitionPer100Ms)}/100ms, crash ${pct(p.crashPer100Ms)}/100ms, mid-ready crash ${pct(p.midReadyCrashRate)}, ` +
    `disk write ${p.writeMinMs}-${Math.round((p.writeMinMs + p.writeSpreadMs) * 100) / 100}ms`
  );
}
