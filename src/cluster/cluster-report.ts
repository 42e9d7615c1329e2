/**
 * What the orchestrator tells about its cluster, shaped from its state: the
 * status every command and the dashboard read (faults, members, each
 * replica's process and last published status), and the cluster record that
 * other commands find the cluster by (secret, socket, pids, files). Shaping
 * only: the orchestrator decides when a record is written (record.ts).
 */
import type { NodeId, Protocol } from '../core/types.js';
import { type FaultRules, isIsolated } from '../transport/faults.js';
import type { Manifest } from './manifest.js';
import type { ClusterStatus } from './orchestrator-rpc.js';
import type { ClusterRecord } from './record.js';
import type { ReplicaProcess } from './replica-process.js';

/** The orchestrator's state that its status and record are made of. */
export interface ClusterView {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly step: boolean;
  readonly traceFile: string | undefined;
  readonly host: string;
  readonly secret: string;
  readonly socketPath: string;
  readonly manifest: Manifest | null;
  /** How many values the replicas held when a resumed cluster came up; null for a new cluster. */
  readonly resumedChosen: number | null;
  readonly notices: readonly string[];
  readonly faults: FaultRules;
  readonly replicas: ReadonlyMap<NodeId, ReplicaProcess>;
}

export function clusterStatus(v: ClusterView): ClusterStatus {
  return {
    protocol: v.protocol,
    clusterSize: v.clusterSize,
    orchestratorPid: process.pid,
    faults: v.faults,
    ...(v.step ? { step: true } : {}),
    ...(v.manifest !== null ? { members: v.manifest.replicas.map((m) => ({ id: m.id, state: m.state })) } : {}),
    replicas: [...v.replicas.values()].map((r) => ({
      id: r.id,
      port: r.port,
      pid: r.up ? r.pid : null,
      up: r.up,
      isolated: isIsolated(v.faults, r.id),
      status: r.up ? r.lastStatus : null,
      paused: r.paused,
    })),
  };
}

export function clusterRecord(v: ClusterView): ClusterRecord {
  return {
    version: 1,
    protocol: v.protocol,
    clusterSize: v.clusterSize,
    host: v.host,
    secret: v.secret,
    orchestratorPid: process.pid,
    controlSocket: v.socketPath,
    startedAtMs: Date.now(),
    ...(v.manifest !== null ? { clusterId: v.manifest.clusterId } : {}),
    resumed: v.resumedChosen !== null,
    ...(v.resumedChosen !== null ? { chosenAtStart: v.resumedChosen } : {}),
    ...(v.notices.length > 0 ? { notices: [...v.notices] } : {}),
    ...(v.traceFile !== undefined ? { traceFile: v.traceFile } : {}),
    ...(v.step ? { step: true } : {}),
    replicas: [...v.replicas.values()].map((r) => ({
      id: r.id,
      port: r.port,
      dataDir: r.dataDir,
      logFile: r.logFile,
      pid: r.pid,
    })),
  };
}
