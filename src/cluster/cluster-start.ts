/**
 * The parts of bringing a cluster up that are about its data rather than its
 * processes: a new cluster's manifest and identities, written before any
 * replica starts; the check, once the replicas have registered or refused
 * their data, that the ones that refused are a minority; and what a resumed
 * cluster held. The orchestrator's `boot` runs them in order.
 */
import { mkdirSync } from 'node:fs';
import type { NodeId, Protocol } from '../core/types.js';
import { OperatingError } from '../errors.js';
import { IDENTITY_REFUSED_EXIT, writeIdentity } from '../storage/identity.js';
import { dataDirOf, describeIds, lastLine } from './home.js';
import { type Manifest, newManifest, votersOf, writeManifest } from './manifest.js';
import type { ReplicaProcess } from './replica-process.js';

/** Exited at start-up refusing its data directory (missing, foreign or damaged): it stays down, saying why. */
export function refusedItsData(r: ReplicaProcess): boolean {
  return !r.up && r.lastExitCode === IDENTITY_REFUSED_EXIT;
}

/**
 * A new cluster's manifest and its replicas' identities, written before any
 * replica starts: from then on the manifest says these replicas exist, and
 * a replica directory that loses its data is refused, not started empty.
 */
export function createCluster(o: { readonly home: string; readonly n: number; readonly protocol: Protocol }): Manifest {
  const manifest = newManifest(o.n, o.protocol);
  mkdirSync(`${o.home}/data`, { recursive: true, mode: 0o700 });
  writeManifest(o.home, manifest);
  for (let id = 1; id <= o.n; id++)
    writeIdentity(dataDirOf(o.home, id), {
      version: 1,
      clusterId: manifest.clusterId,
      node: id,
      incarnation: 0,
    });
  return manifest;
}

/** The most values any replica knows to be chosen, asked of each replica directly (the published status may not have arrived yet). */
export async function chosenCount(replicas: ReadonlyMap<NodeId, ReplicaProcess>): Promise<number> {
  const counts = await Promise.all(
    [...replicas.values()].map(async (r) => {
      const reply = await r.link?.request('status', {}, 3000).catch(() => null);
      return reply?.status.view.chosenCount ?? 0;
    }),
  );
  return Math.max(0, ...counts);
}

/**
 * A damaged minority does not keep the healthy majority from starting:
 * each refused replica's own sentence is a notice, and it stays down. With
 * a majority of the voters refused, nothing could be decided safely, so
 * `up` refuses in one sentence.
 */
export function startedWithoutRefused(o: {
  readonly replicas: ReadonlyMap<NodeId, ReplicaProcess>;
  readonly manifest: Manifest | null;
  readonly notice: (line: string) => void;
}): void {
  const refused = [...o.replicas.values()].filter(refusedItsData);
  if (refused.length === 0 || o.manifest === null) return;
  const voters = votersOf(o.manifest);
  const healthy = voters.filter((id) => o.replicas.get(id)?.registered === true).length;
  const names = describeIds(refused.map((r) => r.id));
  const its = refused.length === 1 ? 'its' : 'their';
  if (healthy < Math.floor(voters.length / 2) + 1) {
    throw new OperatingError(
      `${names} refused ${its} data (${lastLine(refused[0]?.logFile ?? '')}), leaving ${healthy} of ${voters.length} voters, not a majority, so the cluster could decide nothing safely; ` +
        'put back the data directories they had, or start over with `paxos up --fresh`',
    );
  }
  for (const r of refused) o.notice(lastLine(r.logFile));
  o.notice(
    `started without ${names}, which refused ${its} data; the other ${healthy} of ${voters.length} voters are a majority`,
  );
}
