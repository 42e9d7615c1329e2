/**
 * `paxos certs`: a test CA and one certificate per node, for labs and tests
 * (production clusters use their own CA). Node's crypto makes keys but
 * cannot sign X.509 certificates, so @peculiar/x509 builds them over Node's
 * WebCrypto: ECDSA P-256 keys, no openssl binary. Each node's certificate
 * names it as `paxos://CLUSTER_ID/node/N` in a SAN URI (transport/tls.ts)
 * and carries the given host names and addresses as DNS and IP SANs, for
 * tools that check those; the client's names `paxos://CLUSTER_ID/client`
 * and may only authenticate a client (clientAuth), never serve.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { nodeName } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import { clientUri, nodeUri } from '../../transport/tls.js';

export interface CertsOptions {
  readonly out: string;
  readonly clusterId: string;
  readonly nodes: number;
  /** Names and addresses every node certificate also carries (DNS or IP SANs); localhost and 127.0.0.1 always. */
  readonly hosts: readonly string[];
  readonly days: number;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

/** Writes ca.crt/ca.key, node-N.crt/node-N.key and client.crt/client.key into `out`; returns the files written. */
export async function makeCerts(o: CertsOptions): Promise<string[]> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const names = fileNames(o.nodes);
  const taken = names.filter((n) => existsSync(join(o.out, n)));
  if (taken.length > 0)
    throw new UsageError(
      `${join(o.out, taken[0])} exists already; paxos certs never overwrites a key or certificate: give another --out`,
    );
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + o.days * DAY_MS);
  const ca = await makeCa(o.clusterId, notBefore, notAfter);
  const written: string[] = [];
  const save = async (base: string, issued: Issued) => {
    written.push(write(o.out, `${base}.crt`, issued.cert.toString('pem'), 0o644));
    written.push(write(o.out, `${base}.key`, await pemKey(issued.keys.privateKey), 0o600));
  };
  await save('ca', ca);
  for (let id = 1; id <= o.nodes; id++) {
    const sans = [{ type: 'url' as const, value: nodeUri(o.clusterId, id) }, ...hostSans(o.hosts)];
    await save(nodeName(id), await issue(ca, { cn: nodeName(id), sans, server: true, notBefore, notAfter }));
  }
  const client = [{ type: 'url' as const, value: clientUri(o.clusterId) }];
  await save('client', await issue(ca, { cn: 'client', sans: client, server: false, notBefore, notAfter }));
  return written;
}

function fileNames(nodes: number): string[] {
  const bases = ['ca', 'client', ...Array.from({ length: nodes }, (_, i) => nodeName(i + 1))];
  return bases.flatMap((b) => [`${b}.crt`, `${b}.key`]);
}

function hostSans(hosts: readonly string[]): x509.JsonGeneralName[] {
  const all = [...new Set(['localhost', '127.0.0.1', ...hosts])];
  return all.map((h) => (isIP(h) !== 0 ? { type: 'ip', value: h } : { type: 'dns', value: h }));
}

async function makeCa(clusterId: string, notBefore: Date, notAfter: Date): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=paxos test CA for ${clusterId}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issue(
  ca: Issued,
  o: { cn: string; sans: x509.JsonGeneralName[]; server: boolean; notBefore: Date; notAfter: Date },
): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const usages = o.server
    ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
    : [x509.ExtendedKeyUsage.clientAuth];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${o.cn}`,
    issuer: ca.cert.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(o.sans, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert, keys };
}

/** A random positive 64-bit serial, hex (RFC 5280: unique per CA, at most 20 octets). */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END PRIVATE KEY-----\n`;
}

function write(dir: string, name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode, flag: 'wx' });
  return path;
}
