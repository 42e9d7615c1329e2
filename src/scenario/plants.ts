/**
 * `option plant NAME` in a scenario file: the replicas break one rule of the
 * protocol on purpose, so a counterexample that `paxos explore` found, or a
 * regression file, can show the bug it was written for under both runners.
 * Only plants of the replica's own rules qualify; a plant of the simulator's
 * world (a disk that forgets, a network that lies) has no meaning for a
 * scripted cluster, whose disk and network are the script's.
 */
import type { PlantedBugs } from '../core/types.js';
import { PLANTS, plantNamed } from '../sim/planted.js';

/** The core rules `name` breaks, or null for `none`; an unknown or world-level plant is one sentence. */
export function scenarioPlant(name: string): PlantedBugs | null {
  if (name === 'none') return null;
  const plant = plantNamed(name);
  const usable = PLANTS.filter((p) => p.bugs !== undefined && p.simBugs === undefined).map((p) => p.name);
  if (plant === undefined) throw new Error(`option plant takes none or one of ${usable.join(', ')}, not "${name}"`);
  if (plant.bugs === undefined || plant.simBugs !== undefined)
    throw new Error(
      `plant ${name} (${plant.what}) breaks the simulator's world, not a replica's rules: only paxos sim can plant it`,
    );
  return plant.bugs;
}
