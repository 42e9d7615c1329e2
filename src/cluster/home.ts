import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where a cluster lives: its record, the replicas' data directories and logs.
 * PAXOS_HOME moves it (tests give each run its own); one cluster per home.
 */
export function paxosHome(): string {
  return process.env.PAXOS_HOME ?? join(homedir(), '.paxos');
}

export function dataDirOf(home: string, node: number): string {
  return join(home, 'data', `node-${node}`);
}

export function logFileOf(home: string, node: number): string {
  return join(home, 'logs', `node-${node}.log`);
}

export function orchestratorLogOf(home: string): string {
  return join(home, 'logs', 'orchestrator.log');
}

/** The last thing a process wrote to its log before it exited: usually the one sentence that explains why. */
export function lastLine(file: string): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.slice(text.lastIndexOf('\n') + 1).replace(/^\S+Z /, '').replace(/^paxos: /, '') || `see ${file}`;
  } catch {
    return `see ${file}`;
  }
}
