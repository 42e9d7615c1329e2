/**
 * Reads the input logs of a recorded live run (see src/node/input-log.ts) from its
 * trace's parts directory. A log's last line may be torn (the process was
 * SIGKILLed while its buffer reached the disk): that line is dropped and the
 * log counts as cut short. A line that does not parse anywhere else means the
 * file is not what `paxos up --trace` wrote, and reading stops with one
 * sentence naming the file and the line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { OperatingError } from '../errors.js';
import type { InputLine } from '../node/input-log.js';
import { partsDirOf } from '../trace/live.js';

export type StartLine = Extract<InputLine, { t: 'start' }>;
export type StepLine = Extract<InputLine, { t: 'in' | 'ticks' | 'ready' }>;

/** One incarnation's log as read. */
export interface Recording {
  readonly file: string;
  readonly start: StartLine;
  readonly steps: readonly StepLine[];
  /** `end`: closed by its process; `capped`: stopped at its size cap; `cut`: neither (killed), the tail is missing. */
  readonly ending: 'end' | 'capped' | 'cut';
}

const LOG_NAME = /^node-(\d+)\.incarnation-(\d+)\.inputs\.jsonl$/;
const count = v.pipe(v.number(), v.integer(), v.minValue(0));

const LineSchema = v.variant('t', [
  v.object({
    t: v.literal('start'),
    node: count,
    incarnation: count,
    protocol: v.picklist(['multi', 'basic']),
    config: v.looseObject({ id: count, clusterSize: count, randomSeed: v.number() }),
    recovered: v.array(v.unknown()),
    snapshot: v.nullable(v.array(v.unknown())),
  }),
  v.object({ t: v.literal('in'), input: v.looseObject({ type: v.picklist(['message', 'request', 'persisted']) }) }),
  v.object({ t: v.literal('ticks'), count: v.pipe(count, v.minValue(1)) }),
  v.object({ t: v.literal('ready'), digest: v.string() }),
  v.object({ t: v.literal('capped'), lines: count, bytes: count }),
  v.object({ t: v.literal('end') }),
]);

/** The parts directory `path` names: the directory itself, or the one beside a trace file. */
export function partsDirFor(path: string): string {
  if (isDirectory(path)) return path;
  if (isDirectory(partsDirOf(path))) return partsDirOf(path);
  throw new OperatingError(
    `there is no recording at ${path}: neither it nor ${partsDirOf(path)} is a directory; record a run with \`paxos up --trace ${path}\``,
  );
}

/** Every incarnation's log in the directory, by node and then incarnation. */
export function readRecordings(dir: string): Recording[] {
  const names = listLogs(dir);
  if (names.length === 0) {
    throw new OperatingError(
      `${dir} holds no input logs (node-N.incarnation-K.inputs.jsonl); only runs recorded with \`paxos up --trace\` by this version can be replayed`,
    );
  }
  // An empty log is a replica killed before its first line reached the disk: there is nothing of it to replay.
  return names
    .map((n) => ({ file: join(dir, n.name), text: readText(join(dir, n.name)) }))
    .filter((f) => f.text !== '')
    .map((f) => parseLog(f.file, f.text));
}

function listLogs(dir: string): { name: string; node: number; incarnation: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new OperatingError(`cannot read ${dir}: ${(err as Error).message}`);
  }
  return names
    .map((name) => ({ name, m: LOG_NAME.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ name, node: Number(m[1]), incarnation: Number(m[2]) }))
    .sort((a, b) => a.node - b.node || a.incarnation - b.incarnation);
}

/** One log's lines; exported for tests that build a log in memory. */
export function parseLog(file: string, text: string): Recording {
  const raw = text.split('\n');
  // Text that does not end in a newline ends in a torn line: its process died while writing it.
  const torn = raw.pop() !== '';
  const lines = raw.map((line, i) => parseLine(file, i + 1, line));
  const first = lines[0];
  if (first?.t !== 'start')
    throw new OperatingError(
      `${file} does not begin with a start line; it is not an input log written by paxos up --trace`,
    );
  const steps: StepLine[] = [];
  let ending: Recording['ending'] = 'cut';
  for (const [i, line] of lines.slice(1).entries()) {
    if (line.t === 'start')
      throw new OperatingError(`${file} line ${i + 2} starts a second incarnation; each incarnation has its own log`);
    if (line.t === 'end' || line.t === 'capped') {
      ending = line.t;
      break;
    }
    steps.push(line);
  }
  return { file, start: first, steps, ending: torn && ending === 'end' ? 'cut' : ending };
}

function parseLine(file: string, lineNo: number, line: string): InputLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new OperatingError(
      `${file} line ${lineNo} is not JSON; the file is damaged (only a killed replica's last line may be torn)`,
    );
  }
  const r = v.safeParse(LineSchema, json);
  if (!r.success) throw new OperatingError(`${file} line ${lineNo} is not an input-log line (${r.issues[0].message})`);
  return r.output as InputLine;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new OperatingError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
