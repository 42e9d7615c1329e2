/**
 * The cluster record: how a command typed in another terminal finds the
 * running cluster and proves it belongs to it (the secret). Kept with conf in
 * a file only its owner can read (mode 0600).
 */
import Conf from 'conf';
import { mkdirSync } from 'node:fs';
import type { Protocol } from '../core/types.js';
import { paxosHome } from './home.js';

export interface ReplicaRecord {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | null;
}

export interface ClusterRecord {
  readonly version: 1;
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly host: string;
  readonly secret: string;
  readonly orchestratorPid: number;
  readonly orchestratorPort: number;
  readonly replicas: readonly ReplicaRecord[];
  readonly startedAtMs: number;
}

function store(home: string): Conf<{ cluster?: ClusterRecord }> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return new Conf<{ cluster?: ClusterRecord }>({
    cwd: home, configName: 'cluster', configFileMode: 0o600, projectName: 'paxos', accessPropertiesByDotNotation: false,
  });
}

export function readRecord(home = paxosHome()): ClusterRecord | null {
  return store(home).get('cluster') ?? null;
}

export function writeRecord(record: ClusterRecord, home = paxosHome()): void {
  store(home).set('cluster', record);
}

export function clearRecord(home = paxosHome()): void {
  store(home).delete('cluster');
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
