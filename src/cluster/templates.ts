/**
 * Cluster profiles: data files in templates/ that set the size, protocol and
 * network of `paxos up --template NAME`. Flags given on the command line win.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../core/types.js';
import { UsageError } from '../errors.js';
import { parseDelay, parseDrop } from '../transport/faults.js';
import { parseOrThrow, type TemplateFile, TemplateFileSchema } from './schemas.js';

export interface ClusterTemplate {
  readonly name: string;
  readonly description: string;
  readonly nodes?: number;
  readonly protocol?: Protocol;
  readonly net?: { readonly delayMs?: { min: number; max: number }; readonly dropRate?: number };
}

const DIR = fileURLToPath(new URL('../../../templates/', import.meta.url));

/** `dir` is the shipped templates/ unless a test points elsewhere. */
export function templateNames(dir = DIR): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length))
        .sort()
    : [];
}

export function loadTemplate(name: string, dir = DIR): ClusterTemplate {
  if (!templateNames(dir).includes(name))
    throw new UsageError(`there is no template "${name}"; the templates are ${templateNames(dir).join(', ')}`);
  const file = join(dir, `${name}.json`);
  const raw = parseOrThrow(TemplateFileSchema, readJson(file), file, (sentence) => new UsageError(sentence));
  return {
    name,
    description: raw.description ?? '',
    ...(raw.nodes !== undefined ? { nodes: raw.nodes } : {}),
    ...(raw.protocol !== undefined ? { protocol: raw.protocol } : {}),
    ...netOf(raw, file),
  };
}

function readJson(file: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message})`);
  }
  // Valibot's object schemas accept arrays (they are objects to JavaScript); a template is a JSON object.
  if (Array.isArray(value))
    throw new UsageError(`${file}: the top level is invalid (expected an object, got an array)`);
  return value;
}

/** The delay and drop texts go through the `--delay` and `--drop` parsers, so a template accepts exactly what the flags do. */
function netOf(raw: TemplateFile, file: string): Pick<ClusterTemplate, 'net'> {
  if (raw.net === undefined) return {};
  const { delay, drop } = raw.net;
  return {
    net: {
      ...(delay !== undefined ? { delayMs: parseField(file, 'net.delay', () => parseDelay(delay)) } : {}),
      ...(drop !== undefined ? { dropRate: parseField(file, 'net.drop', () => parseDrop(drop)) } : {}),
    },
  };
}

/** Runs a flag parser on a template field, naming the file and the field if it refuses. */
function parseField<T>(file: string, field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${file}: ${field} is invalid (${(err as Error).message})`);
  }
}
