/**
 * Which Host headers a replica accepts. In lab mode everything is bound to
 * loopback and only loopback names pass (a DNS-rebinding page arrives with a
 * foreign name). A replica on its own host is dialled by whatever name or
 * address its peers were given: bound to 0.0.0.0 or to an IP, it accepts the
 * address it is bound to (each of this machine's addresses for a wildcard
 * bind), the address it advertises (a DNS name allowed) and the names the
 * operator lists with --allowed-host. Everything else is still refused, and
 * every connection must still present the cluster's secret.
 */
import { networkInterfaces } from 'node:os';

export interface HostPolicyInput {
  /** The address the server is bound to. */
  readonly host: string;
  readonly port: number;
  /** What peers and clients are told to dial (`--advertise`), with its port. */
  readonly advertised?: readonly { readonly host: string; readonly port: number }[];
  /** Extra names (`name` for this server's port, or `name:port`) from `--allowed-host`. */
  readonly extra?: readonly string[];
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === '127.0.0.1' || h === 'localhost' || h === '::1' || h === '[::1]';
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** A host as it appears in a Host header: an IPv6 literal in brackets, names in lower case. */
export function headerHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** `name`, `name:port`, `[v6]:port` from --allowed-host, as Host header values. */
function extraHeaders(entry: string, port: number): string[] {
  const e = entry.trim().toLowerCase();
  if (e === '') return [];
  if (e.startsWith('[')) return e.includes(']:') ? [e] : [`${e}:${port}`];
  const colons = e.split(':').length - 1;
  if (colons === 1) return [e];
  return [`${headerHost(e)}:${port}`];
}

/** The Host headers an honest client of this server sends. */
export function hostHeadersAllowed(p: HostPolicyInput): Set<string> {
  const names: string[] = [];
  if (isLoopback(p.host)) names.push(...LOOPBACK_NAMES.map((h) => `${h}:${p.port}`));
  else if (isWildcard(p.host)) {
    names.push(...LOOPBACK_NAMES.map((h) => `${h}:${p.port}`));
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.push(`${headerHost(a.address)}:${p.port}`);
    }
  } else names.push(`${headerHost(p.host)}:${p.port}`);
  for (const a of p.advertised ?? []) names.push(`${headerHost(a.host)}:${a.port}`);
  for (const e of p.extra ?? []) names.push(...extraHeaders(e, p.port));
  return new Set(names);
}
