/**
 * The orchestrator's watch on its home, the counterpart of a replica's watch
 * on its data directory (storage/identity.ts, watchDataDir). An orchestrator
 * whose PAXOS_HOME was deleted, moved away or replaced (a test script that
 * removed its temporary home) can no longer be found or stopped by any
 * command, since `paxos down` finds it through the home's record and socket;
 * left alone it ran on for 80 minutes. So every few seconds it checks that
 * the home, its data folder and its control socket are still the ones it
 * started with (same device and inode), that the cluster record still names
 * this orchestrator, and that the manifest still names this cluster. Any
 * difference is one sentence, and the orchestrator stops its replicas and
 * exits. It deletes nothing on the way: what is at those paths now may be
 * another cluster's.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { OperatingError } from '../errors.js';
import { readJsonIfPresent } from '../storage/identity.js';
import { manifestFileOf } from './manifest.js';
import { recordFileOf } from './record.js';

/** How often the home is checked: a lost home is noticed within a few seconds, at the cost of a few stats and two small reads. */
export const HOME_CHECK_MS = 2000;

/** What the watch reads of the file system; an in-memory one drives the tests. */
export interface HomeProbe {
  /** `dev:ino` of what is at `path` (links followed), or null when nothing is. */
  idOf(path: string): string | null;
  /** The JSON at `path`, or null when there is no file; throws when it cannot be read or is not JSON. */
  readJson(path: string): unknown;
}

export const diskProbe: HomeProbe = {
  idOf(path) {
    try {
      const s = statSync(path);
      return `${s.dev}:${s.ino}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  },
  readJson(path) {
    return readJsonIfPresent(path, (reason) => new Error(`not valid JSON: ${reason}`));
  },
};

/** The home as the orchestrator started with it: what every check compares with. */
export interface StartedHome {
  readonly home: string;
  readonly socketPath: string;
  readonly clusterId: string;
  readonly pid: number;
  readonly homeId: string;
  readonly dataId: string;
  readonly socketId: string;
}

const STOP = 'the orchestrator stops its replicas and exits, deleting nothing';

/** Notes the identity of the home the orchestrator just started in; a part already missing is one sentence. */
export function noteHome(
  o: { home: string; socketPath: string; clusterId: string; pid: number },
  probe: HomeProbe = diskProbe,
): StartedHome {
  const id = (path: string): string => {
    const found = probe.idOf(path);
    if (found === null)
      throw new OperatingError(`${path} disappeared while the cluster started; start it again with \`paxos up\``);
    return found;
  };
  return { ...o, homeId: id(o.home), dataId: id(join(o.home, 'data')), socketId: id(o.socketPath) };
}

/** Why `started` is no longer this orchestrator's home, as one sentence; null while it still is. */
export function homeLostBecause(started: StartedHome, probe: HomeProbe = diskProbe): string | null {
  try {
    return (
      changed(probe, started.home, started.homeId, `the paxos home ${started.home}`) ??
      changed(probe, join(started.home, 'data'), started.dataId, `its data folder ${join(started.home, 'data')}`) ??
      changed(probe, started.socketPath, started.socketId, `the control socket ${started.socketPath}`) ??
      recordLost(started, probe) ??
      manifestLost(started, probe)
    );
  } catch (err) {
    return `the paxos home ${started.home} could not be checked while the cluster ran (${(err as Error).message}); ${STOP}`;
  }
}

function changed(probe: HomeProbe, path: string, startedId: string, what: string): string | null {
  const now = probe.idOf(path);
  if (now === null) return `${what} was deleted or moved away while the cluster ran; ${STOP}`;
  if (now !== startedId) return `${what} was replaced by another while the cluster ran; ${STOP}`;
  return null;
}

function recordLost(started: StartedHome, probe: HomeProbe): string | null {
  const file = recordFileOf(started.home);
  const raw = readOrSay(probe, file);
  if (typeof raw === 'string') return raw;
  const cluster = (raw as { cluster?: { orchestratorPid?: unknown; clusterId?: unknown } } | null)?.cluster;
  if (cluster === undefined || cluster === null)
    return `the cluster record ${file} was deleted or cleared while the cluster ran, so no command could find it; ${STOP}`;
  const clusterId = cluster.clusterId ?? started.clusterId;
  if (cluster.orchestratorPid !== started.pid || clusterId !== started.clusterId)
    return `the cluster record ${file} now names another cluster (orchestrator pid ${String(cluster.orchestratorPid)} of cluster ${String(clusterId)}, not pid ${started.pid} of ${started.clusterId}); ${STOP}`;
  return null;
}

function manifestLost(started: StartedHome, probe: HomeProbe): string | null {
  const file = manifestFileOf(started.home);
  const raw = readOrSay(probe, file);
  if (typeof raw === 'string') return raw;
  if (raw === null) return `the manifest ${file} was deleted while the cluster ran; ${STOP}`;
  const clusterId = (raw as { clusterId?: unknown }).clusterId;
  if (clusterId !== started.clusterId)
    return `the manifest ${file} now names another cluster (${String(clusterId)}, not ${started.clusterId}); ${STOP}`;
  return null;
}

/** The JSON object in `file`, null when there is no file, or the sentence saying it can no longer be read. */
function readOrSay(probe: HomeProbe, file: string): object | null | string {
  let raw: unknown;
  try {
    raw = probe.readJson(file);
  } catch (err) {
    return `${file} became unreadable while the cluster ran (${(err as Error).message}); ${STOP}`;
  }
  if (raw === null) return null;
  if (typeof raw !== 'object') return `${file} no longer holds a JSON object; ${STOP}`;
  return raw;
}

/**
 * Whether the control socket's path holds this orchestrator's socket, or
 * nothing. Closing a unix socket server unlinks its path (libuv does), so
 * the server is closed only then: called just before the close, in the same
 * synchronous step, nothing of this process runs in between. Anything else at
 * that path (another orchestrator's socket in a home put in place of this
 * one) is not this process's to remove.
 */
export function socketIsOursOrGone(started: StartedHome, probe: HomeProbe = diskProbe): boolean {
  try {
    const now = probe.idOf(started.socketPath);
    return now === null || now === started.socketId;
  } catch {
    return false;
  }
}

/** Runs `check` every `everyMs` until stopped; the timer does not keep the process alive. Returns the stop function. */
export type Repeat = (check: () => void, everyMs: number) => () => void;

const everyInterval: Repeat = (check, everyMs) => {
  const timer = setInterval(check, everyMs);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Checks the home every `everyMs` and calls `onLost` once, with the sentence,
 * when it is lost; the watch ends then. Returns the stop function (for
 * `paxos down`, which clears the record itself).
 */
export function watchHome(
  started: StartedHome,
  o: { readonly onLost: (sentence: string) => void; readonly everyMs?: number; readonly probe?: HomeProbe },
  repeat: Repeat = everyInterval,
): () => void {
  let stopped = false;
  let stopRepeat: () => void = () => undefined;
  const stop = () => {
    stopped = true;
    stopRepeat();
  };
  stopRepeat = repeat(() => {
    if (stopped) return;
    const lost = homeLostBecause(started, o.probe);
    if (lost === null) return;
    stop();
    o.onLost(lost);
  }, o.everyMs ?? HOME_CHECK_MS);
  if (stopped) stopRepeat();
  return stop;
}

/**
 * The orchestrator's handle on the watch: started once the cluster runs,
 * stopped by `down`, and remembering why the home was lost, if it was.
 */
export class HomeWatch {
  /** Why the home was lost, once it was; null while it is the one the cluster started in. */
  lost: string | null = null;
  private readonly stopWatch: () => void;

  private constructor(
    private readonly started: StartedHome,
    onLost: (sentence: string) => void,
  ) {
    this.stopWatch = watchHome(started, {
      onLost: (sentence) => {
        this.lost = sentence;
        onLost(sentence);
      },
    });
  }

  static start(o: {
    readonly home: string;
    readonly socketPath: string;
    readonly clusterId: string;
    readonly onLost: (sentence: string) => void;
  }): HomeWatch {
    return new HomeWatch(
      noteHome({ home: o.home, socketPath: o.socketPath, clusterId: o.clusterId, pid: process.pid }),
      o.onLost,
    );
  }

  stop(): void {
    this.stopWatch();
  }

  /** Whether stopping may close the control server: always while the home is this cluster's (see socketIsOursOrGone). */
  mayCloseSocket(): boolean {
    return this.lost === null || socketIsOursOrGone(this.started);
  }
}
