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
import type { TLSSocket } from 'node:tls';
import { MAX_NODE_ID } from '../core/membership.js';
import { nodeName } from '../core/types.js';
import { hostHeadersAllowed } from './host-policy.js';
import { refuseCertificate } from './tls.js';

export type UpgradeVerdict =
  | { readonly ok: true; readonly kind: 'peer'; readonly node: number }
  | { readonly ok: true; readonly kind: 'control'; readonly role: ControlRole }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/** What a control connection may ask: everything (admin), or commands and reads only (client; see node/admin.ts). */
export type ControlRole = 'admin' | 'client';

export interface UpgradePolicy {
  /** The peers' secret; with no admin secret given it opens /control too, with every right (lab mode's one secret). */
  readonly secret: string;
  /** Separate credentials (`paxos replica --admin-token-file`): then the peer secret opens /peer only. */
  readonly adminSecret?: string;
  /** A client's token (`--client-token-file`): /control for propose, get and status, never faults or crash. */
  readonly clientSecret?: string;
  /** The address the server is bound to. */
  readonly host: string;
  readonly port: number;
  /** The bootstrap size; peers may be any id up to MAX_NODE_ID, since replicas join with ids beyond it. */
  readonly clusterSize: number;
  /** The replica this server belongs to: no peer may claim to be it. Absent for the orchestrator. */
  readonly selfId?: number;
  /** Off loopback: the advertised address and `--allowed-host` names, accepted as Host headers too (see host-policy.ts). */
  readonly advertised?: readonly { readonly host: string; readonly port: number }[];
  readonly extraHosts?: readonly string[];
  /** The cluster this replica belongs to: a peer must name it (X-Paxos-Cluster). Absent, the header is not checked. */
  readonly clusterId?: string;
  /**
   * The highest incarnation seen from each peer id (X-Paxos-Incarnation):
   * a peer that comes back with a lower one has lost its data (a restored
   * backup, a wiped volume) and is refused. Absent, the header is not checked.
   */
  readonly incarnations?: Map<number, number>;
  /**
   * The server listens on a unix socket (the orchestrator's): clients send
   * `Host: localhost` (as ws does for ws+unix URLs), and no page or rebound
   * name can dial a socket file, so that is the only Host accepted.
   */
  readonly unixSocket?: boolean;
  /**
   * The server speaks TLS (tls.ts): a peer's certificate must name the id it
   * claims, checked before its incarnation is recorded, so a holder of the
   * token without the certificate cannot raise a node's incarnation and lock
   * the real one out; under clientCertAuth /control needs a certificate too.
   */
  readonly tls?: { readonly clusterId: string; readonly clientCertAuth: boolean };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison over digests, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(presented: string, secret: string): boolean {
  return timingSafeEqual(digest(presented), digest(secret));
}

/**
 * The Host headers an honest client of this server sends: loopback names on
 * loopback; off it, the bound address, the advertised one and the allowed
 * names (host-policy.ts).
 */
export function allowedHosts(policy: Pick<UpgradePolicy, 'host' | 'port' | 'advertised' | 'extraHosts'>): Set<string> {
  return hostHeadersAllowed({
    host: policy.host,
    port: policy.port,
    ...(policy.advertised !== undefined ? { advertised: policy.advertised } : {}),
    ...(policy.extraHosts !== undefined ? { extra: policy.extraHosts } : {}),
  });
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
  if (path !== '/peer' && path !== '/control')
    return { ok: false, status: 404, reason: 'unknown path; use /peer or /control' };
  if (req.headers.origin !== undefined) return { ok: false, status: 403, reason: 'browser origins are refused' };
  const hostHeader = (req.headers.host ?? '').toLowerCase();
  if (policy.unixSocket === true ? hostHeader !== 'localhost' : !allowedHosts(policy).has(hostHeader))
    return { ok: false, status: 403, reason: 'unexpected Host header' };
  const presented = presentedSecret(req);
  if (path === '/control') {
    const role = controlRole(presented, policy);
    const refused = role === null ? null : certificateRefusal(req, policy);
    if (refused !== null) return refused;
    return role === null
      ? {
          ok: false,
          status: 401,
          reason:
            policy.adminSecret === undefined && policy.clientSecret === undefined
              ? 'missing or wrong cluster secret'
              : 'missing or wrong token for /control (it takes an admin or a client token, not a peer token)',
        }
      : { ok: true, kind: 'control', role };
  }
  if (!secretMatches(presented, policy.secret))
    return { ok: false, status: 401, reason: 'missing or wrong cluster secret' };
  const peer = checkPeerId(req.headers['x-paxos-node'], policy);
  if (!peer.ok || peer.kind !== 'peer') return peer;
  return certificateRefusal(req, policy, peer.node) ?? checkPeerIdentity(req, peer.node, policy);
}

/** The refusal of a connection's certificate (tls.ts), or null when there is no TLS or the certificate passes. */
function certificateRefusal(req: IncomingMessage, policy: UpgradePolicy, peerNode?: number): UpgradeVerdict | null {
  if (policy.tls === undefined) return null;
  const reason = refuseCertificate(req.socket as TLSSocket, {
    clusterId: policy.tls.clusterId,
    clientCertAuth: policy.tls.clientCertAuth,
    ...(peerNode !== undefined ? { peerNode } : {}),
  });
  return reason === null ? null : { ok: false, status: 403, reason };
}

/** The class of a control token; every comparison is made, so timing does not tell which class matched. */
function controlRole(presented: string, policy: UpgradePolicy): ControlRole | null {
  const admin = secretMatches(presented, policy.adminSecret ?? policy.secret);
  const client = policy.clientSecret !== undefined && secretMatches(presented, policy.clientSecret);
  return admin ? 'admin' : client ? 'client' : null;
}

function checkPeerId(header: string | string[] | undefined, policy: UpgradePolicy): UpgradeVerdict {
  const text = typeof header === 'string' ? header.trim() : '';
  const node = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(node) || node < 1 || node > MAX_NODE_ID) {
    return { ok: false, status: 400, reason: `X-Paxos-Node must name a replica id from 1 to ${MAX_NODE_ID}` };
  }
  if (policy.selfId !== undefined && node === policy.selfId)
    return { ok: false, status: 403, reason: `a peer cannot connect as ${nodeName(node)}, this replica itself` };
  return { ok: true, kind: 'peer', node };
}

/**
 * The rest of a peer's handshake: its cluster and its incarnation. A peer of
 * another cluster (same secret, another cluster id) is refused; so is an id
 * that was seen at a higher incarnation, since its promises are gone. The
 * highest incarnation is remembered once the peer passes.
 */
export function checkPeerIdentity(req: IncomingMessage, node: number, policy: UpgradePolicy): UpgradeVerdict {
  if (policy.clusterId !== undefined) {
    const cluster = req.headers['x-paxos-cluster'];
    if (typeof cluster !== 'string' || cluster === '')
      return { ok: false, status: 403, reason: 'X-Paxos-Cluster is missing; a peer must name its cluster' };
    if (cluster !== policy.clusterId)
      return {
        ok: false,
        status: 403,
        reason: `${nodeName(node)} belongs to another cluster (${cluster.slice(0, 64)}, not ${policy.clusterId})`,
      };
  }
  if (policy.incarnations !== undefined) {
    const text = req.headers['x-paxos-incarnation'];
    const incarnation = typeof text === 'string' && /^\d{1,12}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(incarnation) || incarnation < 1)
      return { ok: false, status: 400, reason: 'X-Paxos-Incarnation must be a positive integer' };
    const seen = policy.incarnations.get(node);
    if (seen !== undefined && incarnation < seen) {
      return {
        ok: false,
        status: 403,
        reason: `${nodeName(node)} came back at incarnation ${incarnation} after ${seen} was seen: it has lost its data (restored or wiped) and may have forgotten its promises`,
      };
    }
    policy.incarnations.set(node, incarnation);
  }
  return { ok: true, kind: 'peer', node };
}
