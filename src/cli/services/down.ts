/**
 * `paxos down` (and `paxos reset`): stops the running cluster, if any, and
 * with `wipe` deletes its data afterwards. Without `wipe` the data stays, and
 * the next `paxos up` resumes the cluster from it.
 */
import { existsSync, statSync } from 'node:fs';
import { ClusterClient } from '../../cluster/client.js';
import { orchestratorLogOf } from '../../cluster/home.js';
import {
  type DeletedData,
  dataRootOf,
  deleteData,
  describeDeleted,
  refuseForeignData,
} from '../../cluster/manifest.js';
import { isProcessAlive, readRecord } from '../../cluster/record.js';
import { partsDirOf } from '../../trace/live.js';

export interface DownResult {
  /** One line per thing done, for people. */
  readonly lines: readonly string[];
  /** The same, for --json. */
  readonly data: Record<string, unknown>;
}

export async function runDown(home: string, o: { wipe: boolean }): Promise<DownResult> {
  // Refused before the cluster is stopped: a wipe that cannot happen should leave everything as it was.
  if (o.wipe) refuseForeignData(home, 'delete its data');
  const stopped = await stop(home, o.wipe);
  if (!o.wipe) return stopped;
  const deleted = await deleteData(home);
  return {
    lines: [
      ...stopped.lines,
      deleted === null ? `there was no data in ${dataRootOf(home)} to delete` : describeDeleted(deleted),
    ],
    data: { ...stopped.data, wiped: deleted === null ? null : wipedJson(deleted) },
  };
}

function wipedJson(d: DeletedData): Record<string, unknown> {
  return { path: d.path, bytes: d.bytes, entries: d.entries };
}

/** Nothing running is not an error: `down` wants the cluster gone and it is (a script can run it unconditionally). */
async function stop(home: string, wipe: boolean): Promise<DownResult> {
  const record = readRecord(home);
  if (record === null)
    return { lines: ['no cluster is running; nothing to stop'], data: { stopped: false, clusterSize: null } };
  if (!isProcessAlive(record.orchestratorPid)) {
    // connect() removes the stale record (and says so in the error we do not need).
    await ClusterClient.connect(home).then(
      (c) => c.close(),
      () => undefined,
    );
    return {
      lines: [
        `the cluster recorded in ${home} was already gone (orchestrator pid ${record.orchestratorPid}); removed its stale record`,
      ],
      data: { stopped: false, clusterSize: record.clusterSize, staleRecordRemoved: true },
    };
  }
  const cluster = await ClusterClient.connect(home);
  const pid = cluster.record.orchestratorPid;
  // After paxos add and remove the replicas running are not the cluster's first size: count them.
  const running = await cluster.status().then(
    (s) => s.replicas.length,
    () => cluster.record.clusterSize,
  );
  await cluster.stop();
  const traced = cluster.record.traceFile;
  return {
    lines: [
      `stopped the cluster of ${running} replicas${wipe ? '' : `; its data stays in ${dataRootOf(home)} for the next \`paxos up\``}`,
      ...(traced !== undefined ? [traceLine(traced, cluster.record.startedAtMs, home)] : []),
    ],
    data: {
      stopped: true,
      clusterSize: cluster.record.clusterSize,
      orchestratorPid: pid,
      ...(traced !== undefined ? { trace: traced } : {}),
    },
  };
}

/** Where the run's trace went: the orchestrator merged it before exiting, unless the merge failed (its log says why). */
function traceLine(file: string, startedAtMs: number, home: string): string {
  const written = existsSync(file) && statSync(file).mtimeMs >= startedAtMs;
  return written
    ? `wrote the run's trace to ${file}; draw it with \`paxos trace ${file} --svg run.svg\``
    : `the run's trace was not merged into ${file} (${orchestratorLogOf(home)} says why); \`paxos trace ${partsDirOf(file)}\` reads its parts`;
}
