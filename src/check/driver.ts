/**
 * What `paxos check` needs of a cluster, whoever runs it: its status, a
 * connection to each replica for the clients, and the faults its nemesis
 * injects. Two drivers stand behind it: the orchestrator of lab mode
 * (`ClusterClient`, which has every method already: kill is SIGKILL, pause
 * SIGSTOP) and, for replicas on other hosts, their admin API
 * (driver-admin.ts: kill is `crash`, pause is `freeze`, partitions and
 * network faults are rule sets that expire on their own).
 *
 * This is the smallest interface the check and its nemesis use today; it is
 * written down here rather than in the nemesis so that a driver need not
 * know how faults are scheduled.
 */
import type { ClusterStatus } from '../cluster/orchestrator-rpc.js';
import type { ControlClient } from '../transport/control-client.js';
import type { FaultMeans } from './nemesis.js';

export interface NemesisDriver {
  /** How kill and pause are done, for the nemesis's log and report; absent, by signals (the orchestrator's). */
  readonly faultMeans?: FaultMeans;
  kill(node: number): Promise<void>;
  /** Brings a killed replica back (the orchestrator restarts it; a supervisor elsewhere does, and the driver waits). */
  restart(node: number): Promise<void>;
  killAll(): Promise<number[]>;
  restartAll(): Promise<number[]>;
  pause(node: number): Promise<void>;
  resume(node: number): Promise<void>;
  resumeAll(): Promise<number[]>;
  partition(groups: number[][]): Promise<void>;
  isolate(node: number): Promise<void>;
  heal(): Promise<void>;
  net(body: { delayMs?: { min: number; max: number } | null; dropRate?: number }): Promise<void>;
  /** The membership nemesis's steps (cluster/membership-changes.ts); a driver without an orchestrator refuses them. */
  addLearner(): Promise<{ node: number; port: number }>;
  removeReplica(node: number): Promise<void>;
  markVoter(node: number): Promise<void>;
}

export interface CheckDriver extends NemesisDriver {
  status(): Promise<ClusterStatus>;
  /** A connection for one client's operations to one replica. */
  replica(node: number, port?: number): Promise<ControlClient>;
  close(): void;
}
