import type { PlantedBugs } from '../core/types.js';

/**
 * Core settings a live scenario gives its replicas (`--core-tuning JSON`), so
 * that real processes run the same cores as the scripted walk-through: the
 * same election and heartbeat periods, backoff on or off, and each replica's
 * random numbers seeded with its own id. Nothing else in the product sets
 * them: a cluster the user starts draws its seeds at random.
 */
export interface CoreTuning {
  readonly electionTimeoutTicks?: number;
  readonly heartbeatTicks?: number;
  readonly backoff?: boolean;
  /** Seed each replica's random numbers with its id, as the scripted runner does, so backoffs and timeouts repeat. */
  readonly seedByNode?: boolean;
  /** A scenario's `option plant`: the core rules it breaks on purpose, so a counterexample replays on real processes. */
  readonly bugs?: PlantedBugs;
}

const MAX_TUNING_TICKS = 10_000;

/** Parses and checks `--core-tuning`; a bad one is a sentence, since only `paxos scenario` passes it. */
export function parseCoreTuning(text: string): CoreTuning {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    throw new Error(`--core-tuning must be a JSON object, got "${text}"`);
  }
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error('--core-tuning must be a JSON object');
  const r = x as Record<string, unknown>;
  const known = ['electionTimeoutTicks', 'heartbeatTicks', 'backoff', 'seedByNode', 'bugs'];
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new Error(`--core-tuning does not know ${unknown.join(', ')}; it takes ${known.join(', ')}`);
  for (const k of ['electionTimeoutTicks', 'heartbeatTicks'] as const) {
    const v = r[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_TUNING_TICKS))
      throw new Error(`--core-tuning ${k} must be a whole number from 1 to ${MAX_TUNING_TICKS}`);
  }
  for (const k of ['backoff', 'seedByNode'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'boolean') throw new Error(`--core-tuning ${k} must be true or false`);
  }
  const bugs = r.bugs;
  if (
    bugs !== undefined &&
    (typeof bugs !== 'object' ||
      bugs === null ||
      Array.isArray(bugs) ||
      Object.values(bugs).some((v) => typeof v !== 'boolean'))
  )
    throw new Error('--core-tuning bugs must be an object of planted-bug names set to true or false');
  return r as CoreTuning;
}
