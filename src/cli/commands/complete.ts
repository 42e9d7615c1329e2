/**
 * The candidates `paxos __complete WORDS...` prints for the completion
 * scripts (completion.ts). Apart from the command's registration so that only
 * a completion request loads the record, the templates and the scenarios.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { NEMESIS_KINDS } from '../../check/nemesis.js';
import { paxosHome } from '../../cluster/home.js';
import { readRecord } from '../../cluster/record.js';
import { templateNames } from '../../cluster/templates.js';
import { nodeName } from '../../core/types.js';
import { PLANTS } from '../../sim/planted.js';
import { SHELLS } from './completion.js';

/** Replica names: the running (or last) cluster's, else those that left a log. */
function nodeNames(): string[] {
  const home = process.env.PAXOS_HOME === '' ? undefined : paxosHome();
  if (home === undefined) return [];
  // Tab must never print an error: a home paxos refuses (another user's, or writable by others) offers no names.
  let record: ReturnType<typeof readRecord>;
  try {
    record = readRecord(home);
  } catch {
    return [];
  }
  if (record !== null) return record.replicas.map((r) => nodeName(r.id));
  const logs = join(home, 'logs');
  return existsSync(logs)
    ? readdirSync(logs)
        .filter((f) => /^node-\d+\.log$/.test(f))
        .map((f) => f.slice(0, -4))
        .sort()
    : [];
}

/** Values a flag takes, when they come from a known list. */
function flagValues(command: string, flag: string): string[] | undefined {
  switch (flag) {
    case '--protocol':
      return command === 'bench' ? ['multi', 'basic', 'both'] : ['multi', 'basic'];
    case '--template':
      return templateNames();
    case '--plant':
      return command === 'sim' || command === 'explore' ? PLANTS.map((p) => p.name) : undefined;
    case '--nemesis':
      return [...NEMESIS_KINDS, 'none'];
    case '--via':
      return nodeNames();
    default:
      return undefined;
  }
}

const NODE_ARGUMENTS = new Set([
  'kill',
  'restart',
  'pause',
  'resume',
  'logs',
  'partition',
  'remove',
  'replace',
  'tick',
]);

/**
 * The candidates for the last of `words` (the words after `paxos`, the last
 * one being typed, possibly empty), one per line, filtered by what is typed.
 */
export async function complete(program: Command, words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const prior = words.slice(0, -1);
  const visible = program.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const match = (xs: readonly string[]) => xs.filter((x) => x.startsWith(current));
  if (prior.length === 0)
    return match(current.startsWith('-') ? ['--help', '--version'] : visible.map((c) => c.name()));
  const cmd = visible.find((c) => c.name() === prior[0]);
  if (cmd === undefined) return [];
  if (cmd.commands.length > 0) return completeSubcommand(cmd as Command, prior.slice(1), current);
  const options = cmd.options.filter((o) => !o.hidden);
  const previous = prior.at(-1);
  const takingValue = options.find((o) => (o.long === previous || o.short === previous) && (o.required || o.optional));
  if (takingValue !== undefined && prior.length > 1) {
    const values = flagValues(cmd.name(), takingValue.long ?? '');
    if (takingValue.long === '--nemesis' && values !== undefined) {
      // A comma-separated list: complete its last item.
      const head = current.slice(0, current.lastIndexOf(',') + 1);
      return values.map((v) => head + v).filter((v) => v.startsWith(current));
    }
    return values === undefined ? [] : match(values);
  }
  if (current.startsWith('-'))
    return match([...options.map((o) => o.long ?? o.short ?? ''), '--help'].filter((x) => x !== ''));
  if (cmd.name() === 'completion') return match(SHELLS);
  if (NODE_ARGUMENTS.has(cmd.name())) {
    if (cmd.name() === 'partition') {
      const head = current.slice(0, current.lastIndexOf(',') + 1);
      return nodeNames()
        .map((n) => head + n)
        .filter((v) => v.startsWith(current));
    }
    return match(nodeNames());
  }
  return [];
}

/**
 * A command made of subcommands (`scenario list|run`): first the subcommand's
 * name, then its flags, or for `scenario run` the shipped scenarios' names.
 */
async function completeSubcommand(cmd: Command, prior: readonly string[], current: string): Promise<string[]> {
  const match = (xs: readonly string[]) => xs.filter((x) => x.startsWith(current));
  if (prior.length === 0) return match(current.startsWith('-') ? ['--help'] : cmd.commands.map((c) => c.name()));
  const sub = cmd.commands.find((c) => c.name() === prior[0]);
  if (sub === undefined) return [];
  if (current.startsWith('-'))
    return match([...sub.options.filter((o) => !o.hidden).map((o) => o.long ?? ''), '--help'].filter((x) => x !== ''));
  const previous = prior.at(-1);
  if (sub.options.some((o) => o.long === previous && (o.required || o.optional))) return [];
  if (cmd.name() !== 'scenario' || sub.name() !== 'run') return [];
  // The scenario service (and the live runner it brings) only for the one place that lists scenarios.
  const { scenarioNames } = await import('../services/scenario.js');
  return match(scenarioNames());
}
