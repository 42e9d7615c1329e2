/**
 * What the disk nemesis needs of the cluster it damages, as one small seam
 * beside driver.ts's NemesisDriver (what the other faults need, which a
 * cluster on other hosts also offers): the disk nemesis touches data
 * directories on this machine, so only a local cluster has this one. It can
 * crash a replica, start it again from its data (and hear the sentence with
 * which it refuses damaged data), cut the network into groups and heal it,
 * find a replica's data directory, and bring a refused replica back as an
 * operator would. The orchestrator implementation below serves a cluster
 * started by `paxos up` on this machine.
 */
import type { ClusterClient } from '../cluster/client.js';
import { dataDirOf } from '../cluster/home.js';
import { addOn, removeOn } from '../cluster/membership-changes.js';

/** How a start from the replica's own data went. */
export type StartOutcome = { readonly started: true } | { readonly started: false; readonly sentence: string };

export interface DiskDriver {
  /** SIGKILL; resolves once the process is gone, so its data may be touched. */
  crash(node: number): Promise<void>;
  /** Starts the replica from its data; a replica that refuses its data is an outcome, not an error. */
  start(node: number): Promise<StartOutcome>;
  partition(groups: readonly (readonly number[])[]): Promise<void>;
  heal(): Promise<void>;
  /** The replica's data directory, on this machine, while it is down. */
  dataDir(node: number): string;
  /** Multi-Paxos: starts the replica on a fresh directory, recovering (`paxos recover`): it votes again once re-admitted. */
  recover(node: number): Promise<void>;
  /** Multi-Paxos: whether the recovering replica was re-admitted (it votes again) within `timeoutMs`. */
  readmitted(node: number, timeoutMs: number): Promise<boolean>;
  /** Multi-Paxos: removes the replica and adds a fresh one in its place (`paxos replace`); resolves with the new id. */
  replace(node: number): Promise<number>;
}

/** How long the replacement's removal and addition may take each (the new replica's catch-up included). */
const REPLACE_TIMEOUT_MS = 20_000;
/** How often a recovering replica's status is read while waiting for its re-admission. */
const READMISSION_POLL_MS = 250;

export class OrchestratorDiskDriver implements DiskDriver {
  constructor(
    private readonly cluster: ClusterClient,
    /** The cluster's PAXOS_HOME, where `paxos up` keeps each replica's data. */
    private readonly home: string,
    private readonly log: (line: string) => void,
  ) {}

  crash(node: number): Promise<void> {
    return this.cluster.kill(node);
  }

  async start(node: number): Promise<StartOutcome> {
    try {
      await this.cluster.restart(node);
      return { started: true };
    } catch (err) {
      return { started: false, sentence: (err as Error).message };
    }
  }

  partition(groups: readonly (readonly number[])[]): Promise<void> {
    return this.cluster.partition(groups.map((g) => [...g]));
  }

  heal(): Promise<void> {
    return this.cluster.heal();
  }

  dataDir(node: number): string {
    return dataDirOf(this.home, node);
  }

  recover(node: number): Promise<void> {
    return this.cluster.recover(node);
  }

  async readmitted(node: number, timeoutMs: number): Promise<boolean> {
    for (let waitedMs = 0; waitedMs <= timeoutMs; waitedMs += READMISSION_POLL_MS) {
      const view = (await this.cluster.status().catch(() => null))?.replicas.find((r) => r.id === node)?.status?.view;
      if (view !== undefined && view.recovering !== true && view.member === 'voter') return true;
      await new Promise((resolve) => setTimeout(resolve, READMISSION_POLL_MS));
    }
    return false;
  }

  async replace(node: number): Promise<number> {
    const ctx = {
      cluster: this.cluster,
      timeoutMs: REPLACE_TIMEOUT_MS,
      report: { step: (line: string) => this.log(`  ${line}`) },
    };
    await removeOn(ctx, node);
    return (await addOn(ctx)).node;
  }
}
