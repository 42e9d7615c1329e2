/**
 * TLS between replicas on separate hosts, and mutual TLS that binds a node
 * id to its certificate. A replica's certificate names it in a SAN URI,
 * `paxos://CLUSTER_ID/node/N` (the SPIFFE style: a URI SAN is an identity,
 * where DNS and IP SANs are only addresses, and a node's identity is its id,
 * never its address). Both ends of a peer link check it: the replica that
 * dials node-N refuses a server whose certificate does not name node-N, and
 * the replica dialled refuses a peer that says X-Paxos-Node: N but presents
 * another node's certificate. The cluster id in the URI keeps one CA's
 * certificates for cluster A out of cluster B.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { nodeName } from '../core/types.js';

/** What a replica serves and presents: PEM text of its certificate, its key and the CA it trusts. */
export interface ServerTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clusterId: string;
  /** `--client-cert-auth`: /control too needs a certificate signed by the CA (peers always need one). */
  readonly clientCertAuth: boolean;
}

/** What a client (the CLI, a peer dialling out) needs: the CA, and its own certificate when it has one. */
export interface ClientTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly clusterId: string;
}

export function nodeUri(clusterId: string, node: number): string {
  return `paxos://${clusterId}/node/${node}`;
}

export function clientUri(clusterId: string): string {
  return `paxos://${clusterId}/client`;
}

/** The URIs in a `subjectaltname` string as Node prints it: `URI:paxos://c/node/1, DNS:localhost, IP Address:127.0.0.1`. */
export function sanUris(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '')
    .split(/,\s*/)
    .filter((part) => part.startsWith('URI:'))
    .map((part) => part.slice('URI:'.length));
}

/** The node a certificate names in this cluster, or null if it names none (a client's, another cluster's). */
export function certificateNode(subjectAltName: string | undefined, clusterId: string): number | null {
  const prefix = `paxos://${clusterId}/node/`;
  for (const uri of sanUris(subjectAltName)) {
    if (!uri.startsWith(prefix)) continue;
    const text = uri.slice(prefix.length);
    if (/^\d{1,6}$/.test(text)) return Number(text);
  }
  return null;
}

/** How a certificate names itself in a sentence: its paxos URIs, else its subject. */
function describe(subjectAltName: string | undefined, subject: string): string {
  const uris = sanUris(subjectAltName).filter((u) => u.startsWith('paxos://'));
  return uris.length > 0 ? uris.join(', ') : `no paxos:// identity (subject ${subject.replace(/\n/g, ', ')})`;
}

/**
 * The dialling side: a server certificate that chains to the CA (Node has
 * checked that already) must also name the node we meant to dial. The
 * address is not checked: a node may be dialled by IP or by any DNS name,
 * and its id is what the certificate vouches for.
 */
export function checkServerNode(
  clusterId: string,
  node: number,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    if (certificateNode(cert.subjectaltname, clusterId) === node) return undefined;
    const err = new Error(
      `its certificate is not ${nodeName(node)}'s: it names ${describe(cert.subjectaltname, subjectText(cert))}, and this link needs ${nodeUri(clusterId, node)}`,
    ) as NodeJS.ErrnoException;
    err.code = 'PAXOS_CERT_NOT_THIS_NODE';
    return err;
  };
}

function subjectText(cert: PeerCertificate): string {
  const s = cert.subject as unknown as Record<string, string> | undefined;
  return s === undefined
    ? '?'
    : Object.entries(s)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
}

/**
 * The dialled side, at the upgrade: the reason to refuse a connection's
 * certificate, or null to let it through. A peer's certificate must chain to
 * the CA and name the node it says it is; a control client's only needs to
 * chain to the CA, and only under --client-cert-auth.
 */
export function refuseCertificate(
  socket: TLSSocket,
  o: { readonly clusterId: string; readonly peerNode?: number; readonly clientCertAuth: boolean },
): string | null {
  if (o.peerNode === undefined && !o.clientCertAuth) return null;
  const who = o.peerNode === undefined ? 'a control client' : `the peer calling itself ${nodeName(o.peerNode)}`;
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0)
    return `${who} presented no certificate; ${o.peerNode === undefined ? 'with --client-cert-auth, clients' : 'peers'} need one signed by this cluster's CA`;
  if (!socket.authorized)
    return `${who} presented a certificate not signed by this cluster's CA (${String(socket.authorizationError)})`;
  if (o.peerNode === undefined) return null;
  if (certificateNode(cert.subjectaltname, o.clusterId) === o.peerNode) return null;
  return `${who} presented a certificate that is not ${nodeName(o.peerNode)}'s: it names ${describe(cert.subjectaltname, subjectText(cert))}`;
}

/** A TLS failure while dialling, as the part of a sentence after "cannot reach node-N at A:P: ". */
export function tlsProblem(err: NodeJS.ErrnoException): string | null {
  if (err.code === 'PAXOS_CERT_NOT_THIS_NODE') return err.message;
  const unsigned = [
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_GET_ISSUER_CERT',
    'CERT_SIGNATURE_FAILURE',
  ];
  if (err.code !== undefined && unsigned.includes(err.code))
    return `its certificate is not signed by this cluster's CA (${err.code})`;
  if (err.code === 'CERT_HAS_EXPIRED' || err.code === 'CERT_NOT_YET_VALID')
    return `its certificate is outside its validity period (${err.code})`;
  if (err.code === 'EPROTO' || /alert|certificate required|wrong version number/i.test(err.message))
    return `the TLS handshake failed (${err.message.split('\n')[0]}): is it serving TLS with a certificate from this cluster's CA, and does it accept ours?`;
  return null;
}

/**
 * Checks a replica's own certificate and key before it serves them: the
 * certificate must name this node of this cluster, so that a node started
 * with another node's files fails at once with one sentence rather than
 * being refused by every peer.
 */
export function checkOwnCertificate(o: { cert: string; clusterId: string; node: number; file: string }): string | null {
  let x: X509Certificate;
  try {
    x = new X509Certificate(o.cert);
  } catch (err) {
    return `${o.file} is not a PEM certificate: ${(err as Error).message}`;
  }
  const named = certificateNode(x.subjectAltName, o.clusterId);
  if (named === o.node) return null;
  return `${o.file} is not ${nodeName(o.node)}'s certificate in cluster ${o.clusterId}: it names ${describe(x.subjectAltName, x.subject)}, and ${nodeName(o.node)} needs ${nodeUri(o.clusterId, o.node)} (make one with \`paxos certs\`)`;
}
