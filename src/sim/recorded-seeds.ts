/**
 * A regression seed as test/sim/regressions.json records it, and the
 * simulator options that replay it: the same settings for the test that
 * checks each seed still shows its bug and for scripts/scan-regression.mjs,
 * which re-records a seed whose schedule drifted off it.
 */
import type { Protocol } from '../core/types.js';
import type { DiskFaultKind } from './disk-faults.js';
import { NO_SHAPES } from './swarm-shapes.js';
import type { SimOptions } from './world.js';

export interface RecordedSeed {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly seed: number;
  readonly swarm: boolean;
  readonly membershipChanges?: boolean;
  /** Storage faults fixed instead of drawn (a seed recorded before the swarm drew them keeps its schedule with none). */
  readonly diskFaults?: readonly DiskFaultKind[];
  /** `drawn`: the seed draws its shaped faults (swarm-shapes.ts); else it was recorded before them and runs with them off. */
  readonly shapes?: 'drawn';
  /** `off`: with shapes drawn, no replica is paused (a seed recorded before the simulator paused replicas keeps its schedule). */
  readonly pauses?: 'off';
  /**
   * `drawn`: the seed draws whether its clients reuse identities (swarm.ts, `drawReuse`); else it was recorded before
   * default seeds drew it and runs with it off, its schedule unchanged.
   */
  readonly reuse?: 'drawn';
  /**
   * `drawn`: the seed may draw a horizon of a few slots (swarm.ts, `drawSmallHorizon`); else it was recorded before
   * default seeds drew them and keeps the horizon it drew then.
   */
  readonly smallHorizons?: 'drawn';
  /** Whether a replica found damaged is recovered, fixed instead of drawn (a seed recorded before the simulator recovered any keeps it false). */
  readonly recoverDamaged?: boolean;
  /**
   * The liveness bound the seed was recorded under, fixed: a plant that slows recovery without stopping it (a stream
   * per round trip, a slot per round trip) shows only against the bound it was found with, which the drawn network
   * has lengthened since.
   */
  readonly livenessBoundMs?: number;
  readonly plant: string;
  readonly caught: string;
  /** False for a seed kept for its history that no longer shows its bug (see `retired`): it must still pass. */
  readonly shows?: boolean;
  readonly retired?: string;
}

/** The options that run `r`'s schedule (without its plant); `seed` runs another seed with the same settings. */
export function recordedSeedOptions(r: RecordedSeed, seed = r.seed): SimOptions {
  return {
    protocol: r.protocol,
    clusterSize: r.clusterSize,
    seed,
    ...(r.swarm
      ? {
          swarm: {
            fixed: {
              ...(r.reuse === 'drawn' ? {} : { reuseIdentities: false }),
              ...(r.smallHorizons === 'drawn' ? {} : { smallHorizons: 'off' as const }),
              ...(r.diskFaults !== undefined ? { diskFaults: r.diskFaults } : {}),
              ...(r.shapes === 'drawn'
                ? r.pauses === 'off'
                  ? { shapes: { pausePer100Ms: 0 } }
                  : {}
                : { shapes: NO_SHAPES }),
            },
          },
        }
      : {}),
    ...(r.membershipChanges !== undefined ? { membershipChanges: r.membershipChanges } : {}),
    ...(r.recoverDamaged !== undefined ? { recoverDamaged: r.recoverDamaged } : {}),
    ...(r.livenessBoundMs !== undefined ? { livenessBoundMs: r.livenessBoundMs } : {}),
  };
}
