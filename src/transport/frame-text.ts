/**
 * A WebSocket frame's JSON text, read the same way by the server and by the
 * control client. A module of its own so that a client (`paxos propose`)
 * loads neither the server nor its authentication.
 */
import type { RawData } from 'ws';

export function frameBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** Throws on anything that is not JSON text; callers catch and count it. */
export function parseFrame(data: RawData): unknown {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  return JSON.parse(bytes.toString('utf8'));
}
