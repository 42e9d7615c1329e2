/**
 * The input log of one replica incarnation, which the shell writes and
 * `paxos replay` (src/replay/) reads: everything the pure core was given
 * (its configuration, the records and snapshot it recovered from, and every
 * input in order) and a digest of every Ready it handed out. The core is
 * deterministic given those, so a fresh core fed the same inputs must hand
 * out Readies with the same digests; the first one that differs is where the
 * recording and the code part ways.
 *
 * The trace parts (src/trace/live.ts) record what the network and the disk
 * saw, not the core's inputs, so they cannot be replayed; this log is written
 * beside them, one file per incarnation (FILE.parts/node-N.incarnation-K.inputs.jsonl),
 * so a restart never appends to a file whose last line a SIGKILL tore.
 *
 * Lines, as JSON:
 *   {"t":"start","node":2,"incarnation":1,"protocol":"multi","config":{…},"recovered":[…],"snapshot":null}
 *   {"t":"in","input":{…}}          one input other than a tick
 *   {"t":"ticks","count":37}        consecutive ticks, coalesced
 *   {"t":"ready","digest":"…"}      one call of ready(), after the inputs before it
 *   {"t":"capped","lines":…,"bytes":…}   the log stopped at its cap; nothing after it is recorded
 *   {"t":"end"}                     the process closed the log: nothing is missing
 * A log without "end" was cut short (a SIGKILL loses the last FLUSH_MS of
 * lines, perhaps half a line): replay covers the prefix that was written.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { CoreConfig, Input, NodeId, NodeView, Protocol, Ready } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { LineAppender } from '../trace/appender.js';

export const INPUTS_FLUSH_MS = 200;
/** Per incarnation; past either the log says so once and records nothing more. */
export const MAX_INPUT_LINES = 2_000_000;
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** What the replica shell tells the recorder: where the core starts from, each input, each Ready. */
export interface InputRecorder {
  started(header: StartHeader): void;
  input(input: Input<unknown>): void;
  ready(ready: Ready<unknown, unknown>, view: NodeView): void;
}

export interface StartHeader {
  readonly node: NodeId;
  readonly protocol: Protocol;
  readonly config: CoreConfig;
  readonly recovered: readonly unknown[];
  readonly snapshot: readonly unknown[] | null;
}

export type InputLine =
  | (StartHeader & { readonly t: 'start'; readonly incarnation: number })
  | { readonly t: 'in'; readonly input: Input<unknown> }
  | { readonly t: 'ticks'; readonly count: number }
  | { readonly t: 'ready'; readonly digest: string }
  | { readonly t: 'capped'; readonly lines: number; readonly bytes: number }
  | { readonly t: 'end' };

/** Where the lines go: a buffered file in a live run, an array in a test. */
export interface LineSink {
  write(line: string): void;
  /** Writes what is buffered now. */
  flush?(): void;
  close(): void;
}

/** The input log of `node`'s incarnation `incarnation` in a trace's parts directory. */
export function inputLogOf(partsDir: string, node: NodeId, incarnation: number): string {
  return join(partsDir, `${nodeName(node)}.incarnation-${incarnation}.inputs.jsonl`);
}

/** A live replica's input log, beside its trace part (`paxos up --trace`); closed on the process's way out. */
export function inputLogBeside(
  tracePart: string,
  node: NodeId,
  incarnation: number,
  log: (line: string) => void,
): InputLog {
  const inputs = new InputLog(
    incarnation,
    new BufferedLineFile(inputLogOf(dirname(tracePart), node, incarnation), log),
  );
  process.once('exit', () => inputs.close());
  return inputs;
}

/**
 * A cheap stable digest of what a Ready holds and of the core's view after
 * it: JSON text in the order the core built it, so equal Readies from equal
 * inputs hash alike. Sixteen hex digits are plenty to tell two apart.
 */
export function digestReady(ready: Ready<unknown, unknown>, view: NodeView): string {
  const text = JSON.stringify([
    ready.earlyMessages,
    ready.messages,
    ready.persist,
    ready.persistLazy,
    ready.afterPersist,
    ready.chosen,
    ready.replies,
    ready.events,
    ready.checkpoint,
    view,
  ]);
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

/** Builds the lines of one incarnation's log, coalescing ticks, and hands them to a sink. */
export class InputLog implements InputRecorder {
  private pendingTicks = 0;
  private closed = false;

  constructor(
    private readonly incarnation: number,
    private readonly sink: LineSink,
  ) {}

  started(header: StartHeader): void {
    this.put({ t: 'start', incarnation: this.incarnation, ...header });
    // At once: a replica killed in its first moments still leaves a log that says where its core started.
    this.sink.flush?.();
  }

  input(input: Input<unknown>): void {
    if (input.type === 'tick') {
      this.pendingTicks++;
      return;
    }
    this.put({ t: 'in', input });
  }

  ready(ready: Ready<unknown, unknown>, view: NodeView): void {
    this.put({ t: 'ready', digest: digestReady(ready, view) });
  }

  /** Ticks after the last Ready are written before the end line, so the count of inputs is honest. */
  close(): void {
    if (this.closed) return;
    this.put({ t: 'end' });
    this.closed = true;
    this.sink.close();
  }

  private put(line: InputLine): void {
    if (this.closed) return;
    if (this.pendingTicks > 0 && line.t !== 'start') {
      const count = this.pendingTicks;
      this.pendingTicks = 0;
      this.sink.write(JSON.stringify({ t: 'ticks', count }));
    }
    this.sink.write(JSON.stringify(line));
  }
}

/**
 * Appends lines to a file, buffered and flushed every INPUTS_FLUSH_MS (the
 * log is evidence, not state the protocol relies on: no fsync), and capped:
 * past the caps it writes one `capped` line, says so once in the process log,
 * and drops the rest.
 */
export class BufferedLineFile implements LineSink {
  private readonly out: LineAppender;
  private lines = 0;
  private bytes = 0;
  private stopped = false;

  constructor(
    file: string,
    private readonly log: (line: string) => void = () => undefined,
    private readonly limits: { lines: number; bytes: number } = { lines: MAX_INPUT_LINES, bytes: MAX_INPUT_BYTES },
  ) {
    this.out = new LineAppender(file, INPUTS_FLUSH_MS, (err) =>
      this.log(`replay: cannot write ${file} (${err.message}); input recording stopped`),
    );
  }

  write(line: string): void {
    if (this.stopped) return;
    this.lines++;
    this.bytes += line.length + 1;
    this.out.push(line);
    if (this.lines >= this.limits.lines || this.bytes >= this.limits.bytes) {
      this.out.push(JSON.stringify({ t: 'capped', lines: this.lines, bytes: this.bytes }));
      this.stopped = true;
      this.log(
        `replay: stopped recording inputs after ${this.lines} lines (${(this.bytes / 1048576).toFixed(1)} MiB); paxos replay will cover what came before`,
      );
      this.out.flush();
    }
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
    this.stopped = true;
  }
}
