/**
 * Shared pieces of the transport tests: a tiny message type with a strict
 * validator (standing in for the protocol core's), raw upgrade requests,
 * and bounded waiting.
 */
import { request } from 'node:http';
import WebSocket from 'ws';

export interface Ping {
  readonly type: 'ping';
  readonly from: number;
  readonly to: number;
  readonly n: number;
  readonly text?: string;
}

const KEYS = new Set(['type', 'from', 'to', 'n', 'text']);
const isId = (x: unknown) => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 9;

export function validatePing(x: unknown): Ping | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return null;
  const m = x as Record<string, unknown>;
  if (!Object.keys(m).every((k) => KEYS.has(k))) return null;
  if (m.type !== 'ping' || !isId(m.from) || !isId(m.to) || !Number.isInteger(m.n) || (m.n as number) < 0) return null;
  if (m.text !== undefined && typeof m.text !== 'string') return null;
  return m as unknown as Ping;
}

export const ping = (from: number, to: number, n: number, text?: string): Ping => ({
  type: 'ping',
  from,
  to,
  n,
  ...(text === undefined ? {} : { text }),
});

/** Polls until `check` holds; fails the test with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface UpgradeResult {
  readonly status: number;
  readonly body: string;
}

/** Status and body of a hand-made WebSocket upgrade request. */
export function rawUpgrade(o: {
  port: number;
  path?: string;
  headers?: Record<string, string>;
  host?: string;
}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: o.port,
      path: o.path ?? '/peer',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        host: o.host ?? `127.0.0.1:${o.port}`,
        ...o.headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A hand-held peer connection, so tests can send frames no honest transport would. */
export function openPeer(o: { port: number; secret: string; as: number; maxPayload?: number }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${o.port}/peer`, {
      headers: { authorization: `Bearer ${o.secret}`, 'x-paxos-node': String(o.as) },
      maxPayload: o.maxPayload ?? 1024 * 1024,
    });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}
