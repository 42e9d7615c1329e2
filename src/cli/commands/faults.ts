/** kill, restart, pause, resume, partition, heal and net: the commands that break and mend the cluster. */
import type { Command } from '@commander-js/extra-typings';
import type { ClusterClient } from '../../cluster/client.js';
import { nodeName } from '../../core/types.js';
import { UsageError } from '../../errors.js';
import { parseDelay, parseDrop } from '../../transport/faults.js';
import { parseNodeName } from '../parse.js';

/** The cluster client, loaded when a command runs: `paxos --help` and the other commands do not pay for it. */
async function withCluster<T>(fn: (cluster: ClusterClient) => Promise<T>): Promise<T> {
  return (await import('../../cluster/client.js')).withCluster(fn);
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function registerFaults(program: Command): void {
  registerKill(program);
  registerRestart(program);
  registerPause(program);
  registerResume(program);
  registerPartition(program);
  registerHeal(program);
  registerNet(program);
}

function registerKill(program: Command): void {
  program
    .command('kill')
    .description('crash a replica for real (SIGKILL); its data stays on disk')
    .argument('[node]', 'node-2 or 2')
    .option('--all', 'kill every replica that is up at once, and wait until all are gone')
    .option('--json', 'print {"node":2,"up":false}, or an array of them with --all')
    .action(async (name, opts) =>
      withCluster(async (c) => {
        const id = oneOrAll('kill', name, opts.all, memberIds(c));
        if (id === 'all') {
          const killed = await c.killAll();
          print(
            opts.json,
            killed.length > 0 ? `killed ${nodeList(killed)} (SIGKILL)` : 'every replica was already down',
            killed.map((node) => ({ node, up: false })),
          );
          return;
        }
        await c.kill(id);
        print(opts.json, `killed ${nodeName(id)} (SIGKILL)`, { node: id, up: false });
      }),
    );
}

function registerRestart(program: Command): void {
  program
    .command('restart')
    .description('start a killed replica again from its data on disk')
    .argument('[node]', 'node-2 or 2')
    .option('--all', 'restart every replica that is down, all at once')
    .option('--json', 'print {"node":2,"up":true}, or an array of them with --all')
    .action(async (name, opts) =>
      withCluster(async (c) => {
        const id = oneOrAll('restart', name, opts.all, memberIds(c));
        if (id === 'all') {
          const restarted = await c.restartAll();
          print(
            opts.json,
            restarted.length > 0 ? `restarted ${nodeList(restarted)} from their data` : 'every replica was already up',
            restarted.map((node) => ({ node, up: true })),
          );
          return;
        }
        await c.restart(id);
        print(opts.json, `restarted ${nodeName(id)} from its data`, { node: id, up: true });
      }),
    );
}

function registerPause(program: Command): void {
  program
    .command('pause')
    .description('freeze a running replica (SIGSTOP): alive but silent until `paxos resume`, like a long GC pause')
    .argument('<node>', 'node-2 or 2')
    .option('--json', 'print {"node":2,"paused":true}')
    .action(async (name, opts) =>
      withCluster(async (c) => {
        const id = parseNodeName(name, memberIds(c));
        await c.pause(id);
        process.stdout.write(
          opts.json ? `${JSON.stringify({ node: id, paused: true })}\n` : `paused ${nodeName(id)} (SIGSTOP)\n`,
        );
      }),
    );
}

function registerResume(program: Command): void {
  program
    .command('resume')
    .description('let a paused replica run again (SIGCONT)')
    .argument('[node]', 'node-2 or 2')
    .option('--all', 'resume every paused replica')
    .option('--json', 'print {"node":2,"paused":false}, or an array of them with --all')
    .action(async (name, opts) =>
      withCluster(async (c) => {
        const id = oneOrAll('resume', name, opts.all, memberIds(c));
        const resumed = id === 'all' ? await c.resumeAll() : await resumeOne(c, id);
        process.stdout.write(
          opts.json ? `${JSON.stringify(describeResumed(resumed, id === 'all'))}\n` : `${resumedLine(resumed)}\n`,
        );
      }),
    );
}

function registerPartition(program: Command): void {
  program
    .command('partition')
    .description('cut the network into groups that cannot talk to each other, e.g. node-1,node-2 node-3,node-4,node-5')
    .argument('<groups...>', 'comma-separated replicas per group; replicas left out form one more group')
    .option('--json', 'print {"partition":[[1,2],[3,4,5]]}, every group including the one of replicas left out')
    .action(async (groups, opts) =>
      withCluster(async (c) => {
        const parsed = groups.map((g) =>
          g
            .split(',')
            .filter((x) => x !== '')
            .map((x) => parseNodeName(x, memberIds(c))),
        );
        await c.partition(parsed);
        // The orchestrator's own view, so both forms show the group of replicas left out too (`partition node-1` makes two groups).
        const partition = (await c.status()).faults.partition ?? parsed;
        print(
          opts.json,
          `partitioned: ${partition.map((g) => `{${g.map((n) => nodeName(n)).join(',')}}`).join(' | ')}`,
          { partition },
        );
      }),
    );
}

function registerHeal(program: Command): void {
  program
    .command('heal')
    .description('remove the partition')
    .option('--json', 'print {"partition":null}')
    .action(async (opts) =>
      withCluster(async (c) => {
        await c.heal();
        const { delayMs, dropRate } = (await c.status()).faults;
        // The JSON keeps its documented shape; `net --json` gives the delay and loss.
        print(opts.json, healedLine(delayMs ?? null, dropRate ?? 0), { partition: null });
      }),
    );
}

function registerNet(program: Command): void {
  program
    .command('net')
    .description("random delay and loss between replicas (the 003 article's random delays)")
    .option('--delay <range>', 'for example 10-200ms, or 0 for none')
    .option('--drop <percent>', 'for example 5%, or 0 for none')
    .option(
      '--json',
      'print the network rules now in force: {"delayMs":{"min":10,"max":200},"dropRate":0.05,"partition":null}',
    )
    .action(async (opts) => {
      // --json alone is what its help says: the rules in force, unchanged.
      if (opts.delay === undefined && opts.drop === undefined && opts.json !== true)
        throw new UsageError(
          'net needs --delay, --drop or both, for example: paxos net --delay 10-200ms --drop 5%; `paxos net --json` prints the rules in force',
        );
      const { delay, drop } = opts;
      const delayMs = delay === undefined ? undefined : delay === '0' ? null : usage(() => parseDelay(delay));
      const dropRate = drop === undefined ? undefined : usage(() => parseDrop(drop));
      const faults = await withCluster(async (c) => {
        if (delayMs !== undefined || dropRate !== undefined)
          await c.net({
            ...(delayMs !== undefined ? { delayMs } : {}),
            ...(dropRate !== undefined ? { dropRate } : {}),
          });
        return opts.json ? (await c.status()).faults : undefined;
      });
      if (faults !== undefined) {
        process.stdout.write(
          `${JSON.stringify({ delayMs: faults.delayMs ?? null, dropRate: faults.dropRate ?? 0, partition: faults.partition ?? null })}\n`,
        );
        return;
      }
      process.stdout.write(
        `network: ${delayMs ? `delay ${delayMs.min}-${delayMs.max}ms` : delayMs === null ? 'no delay' : ''}${dropRate !== undefined ? ` drop ${Math.round(dropRate * 1000) / 10}%` : ''}\n`
          .replace(': ', ': ')
          .trimStart(),
      );
    });
}

/**
 * What `heal` did: it removes the partition only, so while a `net` delay or
 * loss is in force it says so rather than claim every message gets through.
 */
function healedLine(delayMs: { min: number; max: number } | null, dropRate: number): string {
  if (delayMs === null && dropRate === 0) return 'healed: every replica can reach every other';
  const rules = [
    delayMs !== null ? `delay ${delayMs.min}-${delayMs.max}ms` : '',
    dropRate > 0 ? `drop ${Math.round(dropRate * 1000) / 10}%` : '',
  ]
    .filter((x) => x !== '')
    .join(' ');
  return `healed the partition; the network still has ${rules} (\`paxos net --delay 0 --drop 0\` removes it)`;
}

/** The replica a command names, or 'all' for `--all`; exactly one of the two must be given. */
function oneOrAll(
  command: string,
  name: string | undefined,
  all: boolean | undefined,
  members: readonly number[],
): number | 'all' {
  if (all === true && name !== undefined) throw new UsageError(`${command} takes a replica or --all, not both`);
  if (all === true) return 'all';
  if (name === undefined) throw new UsageError(`${command} needs a replica, like node-2, or --all`);
  return parseNodeName(name, members);
}

/** The replicas of the running cluster: the bootstrap ones and those that joined, not the removed. */
function memberIds(c: ClusterClient): number[] {
  return c.record.replicas.map((r) => r.id);
}

async function resumeOne(c: ClusterClient, id: number): Promise<number[]> {
  await c.resume(id);
  return [id];
}

function nodeList(ids: readonly number[]): string {
  return ids.map((id) => nodeName(id)).join(', ');
}

function resumedLine(ids: readonly number[]): string {
  return ids.length > 0 ? `resumed ${nodeList(ids)} (SIGCONT)` : 'no replica was paused';
}

/** One object for one named replica; an array (possibly empty) for --all, so scripts always get the same shape per form. */
function describeResumed(ids: readonly number[], all: boolean): unknown {
  const objects = ids.map((node) => ({ node, paused: false }));
  return all ? objects : objects[0];
}

/** The sentence for people, or the data as one line of JSON for scripts. */
function print(json: boolean | undefined, human: string, data: unknown): void {
  process.stdout.write(json === true ? `${JSON.stringify(data)}\n` : `${human}\n`);
}
