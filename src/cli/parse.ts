/** Option parsers shared by commands; each throws a UsageError naming the flag. */
import { UsageError } from '../errors.js';

export function parseIntFlag(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
}

export function parseProtocol(raw: string): 'multi' | 'basic' {
  if (raw !== 'multi' && raw !== 'basic') throw new UsageError(`--protocol must be "multi" or "basic", got "${raw}"`);
  return raw;
}

/** Accepts 500ms, 5s, 2m or a bare number of milliseconds. */
export function parseDurationMs(flag: string) {
  return (raw: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
    if (m === null) throw new UsageError(`${flag} must be a duration like 500ms, 5s or 2m, got "${raw}"`);
    const n = Number(m[1]);
    const unit = m[2] ?? 'ms';
    return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
  };
}

/** `node-3` or `3` → 3, checked against the cluster size when it is known. */
export function parseNodeName(raw: string, clusterSize?: number): number {
  const m = /^(?:node-)?(\d+)$/.exec(raw.trim());
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(id) || id < 1) throw new UsageError(`"${raw}" is not a replica name; use node-1, node-2, ...`);
  if (clusterSize !== undefined && id > clusterSize) {
    throw new UsageError(`there is no ${`node-${id}`}: this cluster has node-1 to node-${clusterSize}`);
  }
  return id;
}
