/**
 * The scenario language, parsed once for both runners: the scripted one
 * (`runner.ts`, over twins) and the live one (`live.ts`, over real
 * processes). Each runner implements the verbs; `dispatch` reads a command
 * line and calls the verb it names, so a script means the same on both.
 * The checks that do not depend on where the script runs (a partition's
 * groups, deliver-random's arguments) live here too.
 */
import type { Command, CommandIdentity, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';

/** What a runner does for each command; `R` is void for the scripted runner and a promise for the live one. */
export interface ScenarioVerbs<R> {
  start(protocol: Protocol, n: number): R;
  option(name: string, value: string): R;
  /** A client's command; `identity` when the script names one (`as session:seq`), else the runner numbers it. */
  request(node: number, command: Command, identity?: CommandIdentity): R;
  join(node: number): R;
  move(from: number, to: number, type: string, deliver: boolean): R;
  /** Delivers a copy of the oldest pending matching message and leaves it pending: the network duplicated it. */
  duplicate(from: number, to: number, type: string): R;
  deliverAll(): R;
  deliverRandom(seed: number, count: number): R;
  split(groups: number[][]): R;
  heal(): R;
  tick(target: number | 'all', count: number): R;
  persisted(node: number): R;
  crash(node: number): R;
  restart(node: number): R;
  /** A down node's disk is lost and it starts on an empty one: recovering, or as if new (`wipe`). */
  loseDisk(node: number, how: 'recover' | 'wipe'): R;
  state(node: number): R;
  /** Delivers what is in flight, oldest first, ticking every running node once whenever nothing is, until a printed line matches `pattern`. */
  waitUntil(pattern: string): R;
}

/** Deliveries and ticks `wait-until` makes at most before it gives up: a line that never comes must not spin forever. */
export const MAX_WAIT_MOVES = 1000;

/** Reads one command line and calls its verb; `ids` are the nodes a partition must cover. */
export function dispatch<R>(verbs: ScenarioVerbs<R>, command: string, ids: () => readonly number[]): R {
  const [verb, ...words] = command.split(/\s+/);
  const { args, identity } = clientIdentity(words);
  const at = (i: number) => node(args[i] ?? '');
  if (identity !== undefined && verb !== 'propose' && verb !== 'get' && verb !== 'reconfigure')
    throw new Error(`only propose, get and reconfigure take "as <session>:<seq>", not ${verb}`);
  switch (verb) {
    case 'cluster':
      return verbs.start(args[0] as Protocol, Number(args[1]));
    case 'option':
      return verbs.option(args[0], args[1]);
    case 'propose': {
      const [key, value] = (args[1] ?? '').split('=');
      return verbs.request(at(0), { op: 'set', key: key, value: value ?? '' }, identity);
    }
    case 'get':
      return verbs.request(at(0), { op: 'get', key: args[1] }, identity);
    case 'reconfigure':
      return verbs.request(
        at(0),
        { op: 'config', fromEpoch: Number(args[1]), voters: (args[2] ?? '').split(',').map(Number) },
        identity,
      );
    case 'join':
      return verbs.join(at(0));
    case 'deliver':
    case 'drop':
      return verbs.move(at(0), at(1), args[2] ?? '', verb === 'deliver');
    case 'duplicate':
      return verbs.duplicate(at(0), at(1), args[2] ?? '');
    case 'deliver-all':
      return verbs.deliverAll();
    case 'deliver-random': {
      const { seed, count } = parseDeliverRandom(args[0], args[1]);
      return verbs.deliverRandom(seed, count);
    }
    case 'partition':
      return verbs.split(parsePartition(args.join(''), ids()));
    case 'heal':
      return verbs.heal();
    case 'tick':
      return verbs.tick(args[0] === 'all' ? 'all' : at(0), Number(args[1] ?? 1));
    case 'persisted':
      return verbs.persisted(at(0));
    case 'crash':
      return verbs.crash(at(0));
    case 'restart':
      return verbs.restart(at(0));
    case 'recover':
    case 'wipe':
      return verbs.loseDisk(at(0), verb);
    case 'state':
      return verbs.state(at(0));
    case 'wait-until': {
      const pattern = command.slice('wait-until'.length).trim();
      if (pattern === '')
        throw new Error('usage: wait-until <text> or wait-until /<regex>/, a line the trace must come to print');
      return verbs.waitUntil(pattern);
    }
    default:
      throw new Error(`unknown scenario command: ${command}`);
  }
}

/**
 * A client command may end in `as <session>:<seq>`: the identity a client
 * library would send itself, so a script can retry a command or reuse an
 * identity on purpose (what exactly-once is about). Without it the runner
 * numbers each request afresh.
 */
function clientIdentity(words: readonly string[]): { args: readonly string[]; identity?: CommandIdentity } {
  const as = words.indexOf('as');
  if (as < 0) return { args: words };
  const m = /^(.+):(\d+)$/.exec(words[as + 1] ?? '');
  if (m === null || as + 2 !== words.length)
    throw new Error('usage: ... as <session>:<seq>, last on the line, e.g. propose node-1 x=1 as client-a:1');
  return { args: words.slice(0, as), identity: { session: m[1] ?? '', seq: Number(m[2]) } };
}

export function node(name: string): number {
  return Number(name.replace(/^node-/, ''));
}

/** `deliver-random <seed> [count]`: a whole seed from 0 and, when given, a count from 1 (all pending, bounded, without one). */
function parseDeliverRandom(
  seedArg: string | undefined,
  countArg: string | undefined,
): { seed: number; count: number } {
  const usage = 'usage: deliver-random <seed> [count], with a whole seed >= 0 and a count >= 1';
  const seed = Number(seedArg);
  const count = countArg === undefined ? Infinity : Number(countArg);
  if (seedArg === undefined || !Number.isInteger(seed) || seed < 0) throw new Error(usage);
  if (countArg !== undefined && (!Number.isInteger(count) || count < 1)) throw new Error(usage);
  return { seed, count };
}

/** `partition 1,2|3`: every node in exactly one group, at least two groups. */
function parsePartition(spec: string, ids: readonly number[]): number[][] {
  const usage = 'usage: partition <ids>|<ids>, e.g. partition 1,2|3';
  const groups = spec.split('|').map((g) => (g === '' ? [] : g.split(',').map((x) => node(x))));
  if (groups.length < 2 || groups.some((g) => g.length === 0)) throw new Error(usage);
  const seen = new Set<number>();
  for (const id of groups.flat()) {
    if (!Number.isInteger(id)) throw new Error(usage);
    if (!ids.includes(id)) throw new Error(`no ${nodeName(id)} in this cluster`);
    if (seen.has(id)) throw new Error(`${nodeName(id)} is in two groups of the partition`);
    seen.add(id);
  }
  const missing = ids.filter((id) => !seen.has(id)).map((id) => nodeName(id));
  if (missing.length > 0)
    throw new Error(
      `every node must be in a group of the partition: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} in none`,
    );
  return groups;
}

/**
 * A partition that stands: messages between two of its groups are dropped
 * when they are sent and when they would be delivered. Null groups: none.
 */
export class Partition {
  private groups: number[][] | null = null;

  get standing(): boolean {
    return this.groups !== null;
  }

  /** Sets it up and returns the line the trace prints. */
  set(groups: number[][]): string {
    if (this.groups !== null) throw new Error(`${this.text()} already stands; heal it first`);
    this.groups = groups;
    return `${this.text()}: ${groups.map((g) => g.map((id) => nodeName(id)).join(', ')).join(' | ')} hear nothing from each other`;
  }

  /** Ends it and returns the line the trace prints. */
  heal(): string {
    if (this.groups === null) throw new Error('there is no partition to heal');
    const was = this.text();
    this.groups = null;
    return `healed ${was}: every node hears every other again (what it dropped stays lost)`;
  }

  clear(): void {
    this.groups = null;
  }

  /** Whether it separates the message's sender from its receiver. */
  cuts(m: { readonly from: number; readonly to: number }): boolean {
    const groups = this.groups;
    if (groups === null) return false;
    const group = (id: number) => groups.findIndex((g) => g.includes(id));
    return group(m.from) !== group(m.to);
  }

  text(): string {
    return `partition ${(this.groups ?? []).map((g) => g.join(',')).join('|')}`;
  }
}
