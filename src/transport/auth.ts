/**
 * Who may open a WebSocket to a replica or the orchestrator. Everything
 * listens on loopback, and still every connection must present the
 * cluster's secret: another local user, or a web page in a local browser,
 * must not be able to speak Paxos to us. Browsers always send an Origin
 * header (cross-site WebSocket hijacking) and a rebinding attack arrives
 * with a foreign Host, so both are refused outright.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type UpgradeVerdict =
  | { readonly ok: true; readonly kind: 'peer'; readonly node: number }
  | { readonly ok: true; readonly kind: 'control' }
  | { readonly ok: false; readonly status: number; readonly reason: string };

export interface UpgradePolicy {
  readonly secret: string;
  readonly host: string;
  readonly port: number;
  readonly clusterSize: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison that also hides the length of the secret. */
export function secretMatches(presented: string, secret: string): boolean {
  return timingSafeEqual(digest(presented), digest(secret));
}

function allowedHosts(policy: UpgradePolicy): Set<string> {
  const loopback = ['127.0.0.1', 'localhost', '[::1]'];
  const names = loopback.includes(policy.host) || policy.host === '::1' ? loopback : [policy.host];
  return new Set(names.map((h) => `${h}:${policy.port}`));
}

export function checkUpgrade(req: IncomingMessage, policy: UpgradePolicy): UpgradeVerdict {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/peer' && path !== '/control') return { ok: false, status: 404, reason: 'unknown path' };
  if (req.headers.origin !== undefined) return { ok: false, status: 403, reason: 'browser origins are refused' };
  if (!allowedHosts(policy).has(req.headers.host ?? '')) return { ok: false, status: 403, reason: 'unexpected Host header' };
  const auth = req.headers.authorization ?? '';
  const presented = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
  if (!secretMatches(presented, policy.secret)) return { ok: false, status: 401, reason: 'missing or wrong cluster secret' };
  if (path === '/control') return { ok: true, kind: 'control' };
  const node = Number(req.headers['x-paxos-node']);
  if (!Number.isInteger(node) || node < 1 || node > policy.clusterSize) return { ok: false, status: 400, reason: 'X-Paxos-Node must name a replica of this cluster' };
  return { ok: true, kind: 'peer', node };
}
