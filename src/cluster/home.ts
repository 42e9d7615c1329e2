import { homedir } from 'node:os';
import { join } from 'node:path';
import { readLogTail } from './log-files.js';

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

/**
 * The last thing a process wrote to its log before it exited: usually the one
 * sentence that explains why. Read through the log reader, so it reads only
 * the end of the file, and finds the line in `.1` if the log has just rotated.
 */
export function lastLine(file: string): string {
  try {
    // A few lines rather than one, so that blank lines at the end do not hide the last words.
    const tail = readLogTail({ file, lines: 5 });
    const text = `${tail.text}${tail.partial}`.trimEnd();
    return text.slice(text.lastIndexOf('\n') + 1).replace(/^\S+Z /, '').replace(/^paxos: /, '') || `see ${file}`;
  } catch {
    return `see ${file}`;
  }
}

/** `node-1 to node-3`, or `node-1, node-2, node-4` when the ids have gaps. */
export function describeIds(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no replicas';
  const contiguous = sorted.every((id, i) => id === sorted[0]! + i);
  if (contiguous && sorted.length > 2) return `node-${sorted[0]} to node-${sorted[sorted.length - 1]}`;
  return sorted.map((id) => `node-${id}`).join(', ');
}
