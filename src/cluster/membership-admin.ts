/**
 * The orchestrator's side of membership change (`paxos add`, `remove`,
 * `replace`): starting a new replica as a learner, stopping one for good,
 * and recording in the manifest who votes. The protocol's side (the config
 * command, chosen through the log) is the CLI's, which calls these around it.
 * The rules kept here: an id is never reused, and the manifest names a
 * replica before its process exists, so that its id is spent even if the
 * orchestrator dies.
 */
import { BASIC_NO_MEMBERSHIP } from '../core/basic/replica.js';
import type { NodeId, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent } from '../node/events.js';
import { writeIdentity } from '../storage/identity.js';
import { dataDirOf } from './home.js';
import { type Manifest, withLearner, withState } from './manifest.js';
import { type ReplicaProcess, waitForRegistration } from './replica-process.js';

/** The sentence every membership command gives on a Basic Paxos cluster. */
export const BASIC_REFUSAL = BASIC_NO_MEMBERSHIP;

/** What administration needs of the orchestrator: its replicas, its manifest, and its ways of telling. */
export interface MembershipHost {
  readonly home: string;
  readonly protocol: Protocol;
  stopping(): boolean;
  manifest(): Manifest;
  /** Keeps `m` as the manifest and writes it. */
  setManifest(m: Manifest): void;
  /** The replica with this id, or the orchestrator's sentence for why there is none. */
  replica(id: NodeId): ReplicaProcess;
  addReplica(id: NodeId, port: number, expectData: boolean): ReplicaProcess;
  spawn(r: ReplicaProcess): void;
  forget(id: NodeId): void;
  broadcastPeers(): void;
  log(line: string): void;
  emit(e: ClusterEvent): void;
  saveRecord(): void;
}

export class MembershipAdmin {
  constructor(private readonly host: MembershipHost) {}

  /**
   * Starts a new replica as a learner: the next free id (never a reused
   * one), a fresh data directory, the bootstrap size and the current voters
   * as its contacts. The manifest names it before it starts, so its id is
   * spent even if this process dies; it becomes a voter only once the
   * config command naming it is chosen (`markVoter`).
   */
  async addLearner(): Promise<{ node: NodeId; port: number }> {
    const h = this.host;
    if (h.stopping()) throw new OperatingError('the cluster is stopping');
    if (h.protocol !== 'multi') throw new OperatingError(BASIC_REFUSAL);
    const { manifest, id } = withLearner(h.manifest());
    h.setManifest(manifest);
    writeIdentity(dataDirOf(h.home, id), { version: 1, clusterId: manifest.clusterId, node: id, incarnation: 0 });
    const r = h.addReplica(id, 0, false);
    try {
      h.spawn(r);
      await waitForRegistration(
        [r],
        10_000,
        'failed to start as a learner',
        () => `${nodeName(id)} did not come up within 10s; see ${r.logFile}`,
      );
    } catch (err) {
      // Its id stays spent: the manifest marks it removed rather than forgetting it.
      await this.removeReplica(id).catch(() => undefined);
      throw err;
    }
    h.log(`${nodeName(id)} started as a learner`);
    h.saveRecord();
    return { node: id, port: r.port };
  }

  /**
   * Stops a replica for good and marks it removed: it leaves the peer table
   * every replica gets, and a later `paxos up` does not start it. Its data
   * directory and log stay, for inspection.
   */
  async removeReplica(id: NodeId): Promise<void> {
    const h = this.host;
    const r = h.replica(id);
    if (r.up) {
      r.kill();
      await r.waitUntilGone();
    }
    h.forget(id);
    h.setManifest(withState(h.manifest(), id, 'removed'));
    h.broadcastPeers();
    h.log(`${nodeName(id)} removed from the cluster`);
    h.emit({ type: 'replica-down', node: id, reason: 'removed from the cluster', atMs: Date.now() });
    h.saveRecord();
  }

  /** Records that a learner's config command was chosen: it votes now. */
  markVoter(id: NodeId): void {
    const h = this.host;
    h.replica(id);
    h.setManifest(withState(h.manifest(), id, 'voter'));
    h.log(`${nodeName(id)} is a voter`);
  }
}
