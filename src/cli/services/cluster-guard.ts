import { clearRecord, isProcessAlive, readRecord } from '../../cluster/record.js';
import { OperatingError } from '../../errors.js';

/** Refuses to start a second cluster in one home; a record left by a dead cluster is cleaned instead. */
export function ensureNoRunningCluster(home: string): void {
  const record = readRecord(home);
  if (record === null) return;
  if (isProcessAlive(record.orchestratorPid)) {
    throw new OperatingError(
      `a cluster is already running (orchestrator pid ${record.orchestratorPid}); stop it with \`paxos down\` or set PAXOS_HOME to run another`,
    );
  }
  clearRecord(home);
}
