/**
 * Cluster profiles: data files in templates/ that set the size, protocol and
 * network of `paxos up --template NAME`. Flags given on the command line win.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../core/types.js';
import { UsageError } from '../errors.js';
import { parseDelay, parseDrop } from '../transport/faults.js';

export interface ClusterTemplate {
  readonly name: string;
  readonly description: string;
  readonly nodes?: number;
  readonly protocol?: Protocol;
  readonly net?: { readonly delayMs?: { min: number; max: number }; readonly dropRate?: number };
}

const DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

export function templateNames(): string[] {
  return existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort() : [];
}

export function loadTemplate(name: string): ClusterTemplate {
  if (!templateNames().includes(name)) throw new UsageError(`there is no template "${name}"; the templates are ${templateNames().join(', ')}`);
  const raw = JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')) as Record<string, unknown>;
  const net = raw.net as { delay?: string; drop?: string } | undefined;
  const where = `template ${name}`;
  const protocol = raw.protocol;
  if (protocol !== undefined && protocol !== 'multi' && protocol !== 'basic') throw new UsageError(`${where}: protocol must be multi or basic`);
  if (raw.nodes !== undefined && (!Number.isInteger(raw.nodes) || (raw.nodes as number) < 1 || (raw.nodes as number) > 15)) throw new UsageError(`${where}: nodes must be 1 to 15`);
  try {
    return {
      name, description: String(raw.description ?? ''),
      ...(raw.nodes !== undefined ? { nodes: raw.nodes as number } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(net ? { net: { ...(net.delay ? { delayMs: parseDelay(net.delay) } : {}), ...(net.drop ? { dropRate: parseDrop(net.drop) } : {}) } } : {}),
    };
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message}`);
  }
}
