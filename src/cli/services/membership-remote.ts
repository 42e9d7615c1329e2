/**
 * `paxos add|remove|replace --cluster FILE`: a membership change of replicas
 * on other hosts, with no orchestrator. The change itself is the same as in
 * lab mode (cluster/membership-changes.ts: catch-up, a config command chosen
 * in the log, a hand-over); what an orchestrator would do around it is the
 * operator's: the new replica is started beforehand by its own supervisor
 * (marked `"joined": true` in the cluster file, so it starts as a learner)
 * and named with --existing; a removed one is stopped by its supervisor
 * afterwards. Requests go with the cluster file's admin token.
 */
import { AdminDriver } from '../../check/driver-admin.js';
import {
  type AddResult,
  addOn,
  type ChangeResult,
  type MembershipCluster,
  type ReplaceResult,
  type Reporter,
  removeOn,
} from '../../cluster/membership-changes.js';
import { nodeName } from '../../core/types.js';
import { OperatingError, UsageError } from '../../errors.js';

export interface RemoteChange {
  readonly clusterFile: string;
  readonly timeoutMs: number;
  readonly report: Reporter;
  /** The replica to vote in: started already, by its supervisor, as a learner. */
  readonly existing?: number;
}

function remoteCluster(driver: AdminDriver, o: RemoteChange): MembershipCluster {
  return {
    startsReplicas: false,
    status: () => driver.status(),
    replica: (node) => driver.adminReplica(node),
    addLearner: async () => {
      const node = o.existing;
      if (node === undefined)
        throw new UsageError(
          'with --cluster nothing starts a replica for you: start the new one (marked "joined": true in the cluster file) and name it with --existing node-N',
        );
      const address = driver.clusterFile.members.get(node);
      if (address === undefined) throw new UsageError(`${nodeName(node)} is not in the cluster file ${o.clusterFile}`);
      const row = (await driver.status()).replicas.find((r) => r.id === node);
      if (row?.up !== true)
        throw new OperatingError(
          `${nodeName(node)} does not answer at ${address.host}:${address.port}; start it first (it starts as a learner); nothing changed`,
        );
      o.report.step(`${nodeName(node)} answers at ${address.host}:${address.port} as a learner`);
      return { node, port: address.port };
    },
    removeReplica: async (node) => {
      o.report.step(
        `${nodeName(node)} votes no more: stop it with its supervisor (scale the StatefulSet down, or stop its service), then delete its volume; leave it in the cluster file, since its id is spent`,
      );
    },
    // No manifest: what the replicas applied is the record.
    markVoter: async () => undefined,
  };
}

async function withDriver<T>(o: RemoteChange, fn: (cluster: MembershipCluster) => Promise<T>): Promise<T> {
  const driver = AdminDriver.open(o.clusterFile, (line) => o.report.step(line));
  try {
    return await fn(remoteCluster(driver, o));
  } finally {
    driver.close();
  }
}

export function runRemoteAdd(o: RemoteChange): Promise<AddResult> {
  return withDriver(o, (cluster) => addOn({ cluster, report: o.report, timeoutMs: o.timeoutMs }));
}

export function runRemoteRemove(o: RemoteChange & { readonly node: number }): Promise<ChangeResult> {
  return withDriver(o, (cluster) => removeOn({ cluster, report: o.report, timeoutMs: o.timeoutMs }, o.node));
}

export function runRemoteReplace(o: RemoteChange & { readonly node: number }): Promise<ReplaceResult> {
  if (o.existing === undefined)
    throw new UsageError(
      "replace --cluster needs --existing node-N: the fresh replica that takes the lost one's place, started already as a learner",
    );
  return withDriver(o, async (cluster) => {
    const ctx = { cluster, report: o.report, timeoutMs: o.timeoutMs };
    const removed = await removeOn(ctx, o.node);
    const added = await addOn(ctx);
    return { op: 'replace', removed, added };
  });
}
