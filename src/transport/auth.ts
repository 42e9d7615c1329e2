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
import { MAX_NODE_ID } from '../core/membership.js';

export type UpgradeVerdict =
  | { readonly ok: true; readonly kind: 'peer'; readonly node: number }
  | { readonly ok: true; readonly kind: 'control' }
  | { readonly ok: false; readonly status: number; readonly reason: string };

export interface UpgradePolicy {
  readonly secret: string;
  /** The address the server is bound to. */
  readonly host: string;
  readonly port: number;
  /** The bootstrap size; peers may be any id up to MAX_NODE_ID, since replicas join with ids beyond it. */
  readonly clusterSize: number;
  /** The replica this server belongs to: no peer may claim to be it. Absent for the orchestrator. */
  readonly selfId?: number;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison over digests, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(presented: string, secret: string): boolean {
  return timingSafeEqual(digest(presented), digest(secret));
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** The Host headers an honest client of this server sends: loopback names, or the one host it was explicitly bound to. */
export function allowedHosts(policy: Pick<UpgradePolicy, 'host' | 'port'>): Set<string> {
  const bound = policy.host.toLowerCase();
  const isLoopback = bound === '127.0.0.1' || bound === 'localhost' || bound === '::1' || bound === '[::1]';
  // An IPv6 literal appears in a Host header in brackets.
  const named = bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
  const names = isLoopback ? LOOPBACK_NAMES : [named];
  return new Set(names.map((h) => `${h}:${policy.port}`));
}

function presentedSecret(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
}

/**
 * Decides one upgrade request. The order matters only for what a refused
 * client learns: nothing about which replica ids exist until it has shown
 * the secret.
 */
export function checkUpgrade(req: IncomingMessage, policy: UpgradePolicy): UpgradeVerdict {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/peer' && path !== '/control') return { ok: false, status: 404, reason: 'unknown path; use /peer or /control' };
  if (req.headers.origin !== undefined) return { ok: false, status: 403, reason: 'browser origins are refused' };
  if (!allowedHosts(policy).has((req.headers.host ?? '').toLowerCase())) return { ok: false, status: 403, reason: 'unexpected Host header' };
  if (!secretMatches(presentedSecret(req), policy.secret)) return { ok: false, status: 401, reason: 'missing or wrong cluster secret' };
  if (path === '/control') return { ok: true, kind: 'control' };
  return checkPeerId(req.headers['x-paxos-node'], policy);
}

function checkPeerId(header: string | string[] | undefined, policy: UpgradePolicy): UpgradeVerdict {
  const text = typeof header === 'string' ? header.trim() : '';
  const node = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(node) || node < 1 || node > MAX_NODE_ID) {
    return { ok: false, status: 400, reason: `X-Paxos-Node must name a replica id from 1 to ${MAX_NODE_ID}` };
  }
  if (policy.selfId !== undefined && node === policy.selfId) return { ok: false, status: 403, reason: `a peer cannot connect as node-${node}, this replica itself` };
  return { ok: true, kind: 'peer', node };
}
