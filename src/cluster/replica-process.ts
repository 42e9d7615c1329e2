/**
 * One replica's process as the orchestrator runs it: spawned, registered,
 * paused (SIGSTOP), continued (SIGCONT), killed (SIGKILL) and reaped. Where
 * it is in that life is one `phase`, a tagged union that holds what exists
 * in that phase (the process only while there is one, the control link only
 * once it has registered), so no combination of flags can say something
 * impossible, and every command checks one field.
 */
import { execa, type ResultPromise } from 'execa';
import type { NodeId } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ReplicaStatus } from '../node/events.js';
import { IDENTITY_REFUSED_EXIT } from '../storage/identity.js';
import { lastLine } from './home.js';
import { pipeToRotatingLog, type RotatingLog } from './log-files.js';
import { monotonicMs } from './monotonic.js';
import { isProcessAlive } from './record.js';
import type { ReplicaLink } from './replica-rpc.js';

/** One spawned process: its handle, and a promise that settles once it has exited, been reaped and its exit handled. */
interface Run {
  readonly proc: ResultPromise;
  readonly exited: Promise<void>;
}

export type Phase =
  /** No process: never started, exited, or killed and reaped. */
  | { readonly kind: 'down' }
  /** Spawned, not yet registered with the orchestrator. */
  | { readonly kind: 'starting'; readonly run: Run }
  | { readonly kind: 'running'; readonly run: Run; readonly link: ReplicaLink }
  /**
   * Stopped with SIGSTOP and not yet continued: its process lives but runs
   * nothing. It may have been paused before it registered (no link yet).
   */
  | { readonly kind: 'paused'; readonly run: Run; readonly link: ReplicaLink | null }
  /** Sent SIGKILL by the orchestrator; its exit has not been seen yet. Its link stays until then, as it always did. */
  | { readonly kind: 'dying'; readonly run: Run; readonly link: ReplicaLink | null };

/** What the orchestrator hears when a process it started has exited: how, and whether it had killed it. */
export type ExitListener = (replica: ReplicaProcess, how: string, killedByUs: boolean) => void;

/**
 * How long `kill` (and a `restart` that finds the replica still exiting)
 * waits for a SIGKILLed replica to be gone. SIGKILL cannot be caught, so the
 * kernel ends the process in milliseconds; five seconds is only ever reached
 * by a process stuck in the kernel (uninterruptible disk I/O), which the
 * user should hear about rather than wait on.
 */
const EXIT_WAIT_MS = 5000;
const POLL_MS = 20;

export class ReplicaProcess {
  phase: Phase = { kind: 'down' };
  /** The port it listens on as registered; before its first registration, the port it was asked for (0: any). */
  port: number;
  /**
   * Its data directory holds its data: every start but the very first of a
   * new cluster's replica. Passed on as --expect-data, so a replica whose
   * directory was emptied refuses to start rather than forget its promises.
   */
  expectData: boolean;
  /** The exit code of its last process, null while running or when killed by a signal. */
  lastExitCode: number | null = null;
  /** The pid of its latest process, kept after that exits: the cluster record shows it, and `waitUntilGone` waits for it to be free. */
  pid: number | null = null;
  /** The status it last published; shown only while it is up. */
  lastStatus: ReplicaStatus | null = null;

  constructor(
    readonly id: NodeId,
    port: number,
    expectData: boolean,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly onExit: ExitListener,
  ) {
    this.port = port;
    this.expectData = expectData;
  }

  /** It has a process (starting, running, paused or dying). */
  get up(): boolean {
    return this.phase.kind !== 'down';
  }

  get paused(): boolean {
    return this.phase.kind === 'paused';
  }

  /** The control link of its current process, once that has registered. */
  get link(): ReplicaLink | null {
    return this.phase.kind === 'down' || this.phase.kind === 'starting' ? null : this.phase.link;
  }

  get registered(): boolean {
    return this.link !== null;
  }

  /** Its process, while it has one. */
  get proc(): ResultPromise | null {
    return this.phase.kind === 'down' ? null : this.phase.run.proc;
  }

  /** Starts its process with `args` (after the Node binary), its output piped to `log`. */
  spawn(args: readonly string[], env: Record<string, string>, log: RotatingLog): void {
    const proc = execa(process.execPath, args, {
      env,
      extendEnv: true,
      stdin: 'ignore',
      // Piped rather than appended to the file, so the log rotates; buffer: false keeps execa from also collecting all of it in memory.
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    this.pid = proc.pid ?? null;
    this.lastExitCode = null;
    // From its first start on, the replica's directory holds its identity, and every later start must find it.
    this.expectData = true;
    // With reject: false execa resolves even for a failed spawn; the catch only keeps a surprise from crashing the orchestrator.
    pipeToRotatingLog(proc.stdout, log);
    pipeToRotatingLog(proc.stderr, log);
    // The log is flushed before the exit is handled, so that lastLine() finds the replica's last words in the file.
    const exited: Promise<void> = proc
      .finally(() => log.flush())
      .then(
        (result) => this.exitedWith(run, result.signal ?? `exit code ${result.exitCode}`, result.exitCode ?? null),
        (err: unknown) => this.exitedWith(run, (err as Error).message, undefined),
      );
    const run: Run = { proc, exited };
    this.phase = { kind: 'starting', run };
  }

  /** `exitCode` undefined: the spawn itself failed, and the last exit code stays as it was. */
  private exitedWith(run: Run, how: string, exitCode: number | null | undefined): void {
    // A process already replaced by a newer one (restarted after its kill was waited on) says nothing about the replica now.
    if (this.phase.kind === 'down' || this.phase.run !== run) return;
    if (exitCode !== undefined) this.lastExitCode = exitCode;
    const killedByUs = this.phase.kind === 'dying';
    this.link?.close();
    this.phase = { kind: 'down' };
    this.onExit(this, how, killedByUs);
  }

  /**
   * Its current process registered, with this link: from then on it can be
   * asked things. A process that re-registers gets its new link; one that
   * exited while its registration was being completed is refused.
   */
  attach(link: ReplicaLink, pid: number): void {
    const phase = this.phase;
    if (phase.kind === 'down') {
      link.close();
      throw new OperatingError(`${nodeName(this.id)} exited before its registration completed`);
    }
    this.link?.close();
    this.pid = pid;
    this.phase =
      phase.kind === 'starting' || phase.kind === 'running'
        ? { kind: 'running', run: phase.run, link }
        : { ...phase, link };
  }

  /** Sends SIGKILL and returns at once. A replica already dying is sent it again. */
  kill(): void {
    const phase = this.phase;
    if (phase.kind === 'down') throw new OperatingError(`${nodeName(this.id)} is already down`);
    // SIGKILL ends a stopped process too, so a paused replica needs no SIGCONT first; it is no longer paused, only dying.
    phase.run.proc.kill('SIGKILL');
    this.phase = { kind: 'dying', run: phase.run, link: this.link };
  }

  /** SIGSTOP; refused unless it is starting or running. */
  pause(): void {
    const phase = this.phase;
    if (phase.kind === 'paused')
      throw new OperatingError(
        `${nodeName(this.id)} is already paused; resume it with \`paxos resume ${nodeName(this.id)}\``,
      );
    // A replica we killed that has not finished exiting counts as down too: there is nothing left to pause.
    if (phase.kind === 'down' || phase.kind === 'dying')
      throw new OperatingError(`${nodeName(this.id)} is down; only a running replica can be paused`);
    if (!phase.run.proc.kill('SIGSTOP'))
      throw new OperatingError(`${nodeName(this.id)} could not be paused: its process is exiting`);
    this.phase = { kind: 'paused', run: phase.run, link: this.link };
  }

  /** SIGCONT for a paused replica: it goes back to where it was, running or (if paused before it registered) starting. */
  continue(): void {
    const phase = this.phase;
    if (phase.kind !== 'paused') return;
    phase.run.proc.kill('SIGCONT');
    this.phase =
      phase.link !== null
        ? { kind: 'running', run: phase.run, link: phase.link }
        : { kind: 'starting', run: phase.run };
  }

  /**
   * Waits (bounded) until its process has exited and been reaped. Both
   * matter for its data directory: the lock it leaves behind names its
   * pid, and the next replica takes that lock over only once the pid is no
   * longer alive, which a zombie not yet reaped still is.
   */
  async waitUntilGone(): Promise<void> {
    const pid = this.pid;
    const deadline = monotonicMs() + EXIT_WAIT_MS;
    const exited = this.phase.kind === 'down' ? Promise.resolve() : this.phase.run.exited;
    const timedOut = await raceDeadline(exited, deadline);
    if (timedOut)
      throw new OperatingError(
        `${nodeName(this.id)} (pid ${pid}) did not exit within ${EXIT_WAIT_MS / 1000}s of SIGKILL; check it with \`ps -p ${pid}\``,
      );
    while (pid !== null && isProcessAlive(pid)) {
      if (monotonicMs() > deadline)
        throw new OperatingError(
          `${nodeName(this.id)} exited but its pid ${pid} is still in use, so its data directory stays locked`,
        );
      await sleep(POLL_MS);
    }
  }

  /** A replica that refused its data directory said why in one sentence of its own; anything else is quoted after what happened. */
  whyNotStarted(what: string): string {
    if (this.lastExitCode === IDENTITY_REFUSED_EXIT) return lastLine(this.logFile);
    return `${nodeName(this.id)} ${what}: ${lastLine(this.logFile)}`;
  }
}

/**
 * Waits until every one of `replicas` has registered. One that exits first
 * fails the wait with its own last words after `failed` (what it failed to
 * do); past the deadline, `late` says which are missing. One that
 * `excused` says may stay down (it refused its damaged data) is not waited for.
 */
export async function waitForRegistration(
  replicas: readonly ReplicaProcess[],
  timeoutMs: number,
  failed: string,
  late: (missing: readonly ReplicaProcess[]) => string,
  excused: (r: ReplicaProcess) => boolean = () => false,
): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const missing = replicas.filter((r) => !r.registered && !excused(r));
    if (missing.length === 0) return;
    const dead = missing.find((r) => !r.up);
    if (dead !== undefined) throw new OperatingError(dead.whyNotStarted(failed));
    if (monotonicMs() > deadline) throw new OperatingError(late(missing));
    await sleep(POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise` until `deadline` (on monotonicMs); true if the deadline came first. */
async function raceDeadline(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), Math.max(0, deadline - monotonicMs()));
  });
  try {
    return await Promise.race([promise.then(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
