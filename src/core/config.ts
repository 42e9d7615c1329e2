import { MAX_NODE_ID, votersProblem } from './membership.js';
import { type CoreConfig, type NodeId, type PlantedBugs, quorumSize } from './types.js';

/** CoreConfig with every default filled in; the values are ticks unless the name says otherwise. */
export interface ResolvedConfig {
  readonly id: number;
  readonly clusterSize: number;
  /** The voters of the first configuration (epoch 0). */
  readonly voters: readonly NodeId[];
  /** Whom a learner asks for the log before its log names any voter it can reach. */
  readonly contacts: readonly NodeId[];
  readonly randomSeed: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  readonly backoff: boolean;
  readonly backoffTicks: number;
  readonly requestTimeoutTicks: number;
  readonly maxBatchEntries: number;
  readonly maxInflightSlots: number;
  readonly maxPendingRequests: number;
  readonly maxSessions: number;
  readonly sessionHorizonSlots: number;
  readonly maxRequestTimeoutTicks: number;
  readonly snapshotEverySlots: number;
  readonly bugs: PlantedBugs;
}

export const DEFAULTS = {
  electionTimeoutTicks: 15,
  heartbeatTicks: 4,
  backoffTicks: 6,
  requestTimeoutTicks: 400,
  maxBatchEntries: 256,
  maxInflightSlots: 4096,
  maxPendingRequests: 20000,
  maxSessions: 1024,
  sessionHorizonSlots: 65536,
  maxRequestTimeoutTicks: 60_000,
  snapshotEverySlots: 10_000,
} as const;

export function resolveConfig(config: CoreConfig): ResolvedConfig {
  if (!Number.isInteger(config.clusterSize) || config.clusterSize < 1) {
    throw new Error(`clusterSize must be a positive integer, got ${config.clusterSize}`);
  }
  // A replica added after creation has an id above the first configuration's; ids are bounded all the same.
  if (!Number.isInteger(config.id) || config.id < 1 || config.id > MAX_NODE_ID) {
    throw new Error(`node id ${config.id} is outside 1..${MAX_NODE_ID}`);
  }
  const voters = config.voters ?? Array.from({ length: config.clusterSize }, (_, i) => i + 1);
  const problem = votersProblem(voters);
  if (problem !== null) throw new Error(`the first configuration is not valid: ${problem}`);
  return {
    id: config.id,
    clusterSize: config.clusterSize,
    voters,
    contacts: config.contacts ?? [],
    randomSeed: config.randomSeed,
    electionTimeoutTicks: config.electionTimeoutTicks ?? DEFAULTS.electionTimeoutTicks,
    heartbeatTicks: config.heartbeatTicks ?? DEFAULTS.heartbeatTicks,
    backoff: config.backoff ?? true,
    backoffTicks: config.backoffTicks ?? DEFAULTS.backoffTicks,
    requestTimeoutTicks: config.requestTimeoutTicks ?? DEFAULTS.requestTimeoutTicks,
    maxBatchEntries: config.maxBatchEntries ?? DEFAULTS.maxBatchEntries,
    maxInflightSlots: config.maxInflightSlots ?? DEFAULTS.maxInflightSlots,
    maxPendingRequests: config.maxPendingRequests ?? DEFAULTS.maxPendingRequests,
    maxSessions: config.maxSessions ?? DEFAULTS.maxSessions,
    sessionHorizonSlots: config.sessionHorizonSlots ?? DEFAULTS.sessionHorizonSlots,
    maxRequestTimeoutTicks: config.maxRequestTimeoutTicks ?? DEFAULTS.maxRequestTimeoutTicks,
    snapshotEverySlots: config.snapshotEverySlots ?? DEFAULTS.snapshotEverySlots,
    bugs: config.bugs ?? {},
  };
}

/**
 * The number of acceptors that must agree. It is a majority of the configured
 * cluster, never of the replicas that happen to be up; the two planted bugs
 * exist only so the simulator can prove it notices when this rule is broken.
 */
export function requiredQuorum(cfg: ResolvedConfig, liveCount: number): number {
  return requiredQuorumOf(cfg, cfg.clusterSize, liveCount);
}

/** The same rule for a configuration of `voterCount` acceptors (Multi, whose configuration changes). */
export function requiredQuorumOf(cfg: ResolvedConfig, voterCount: number, liveCount: number): number {
  if (cfg.bugs.quorumOfLive) return quorumSize(Math.max(1, liveCount));
  if (cfg.bugs.quorumMinusOne) return Math.max(1, quorumSize(voterCount) - 1);
  if (cfg.bugs.quorumHalf) return Math.ceil(voterCount / 2);
  return quorumSize(voterCount);
}

export function peersOf(cfg: ResolvedConfig): number[] {
  const peers: number[] = [];
  for (let id = 1; id <= cfg.clusterSize; id++) if (id !== cfg.id) peers.push(id);
  return peers;
}
