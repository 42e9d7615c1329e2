/**
 * Puts the dashboard on a real terminal. Events are folded into the model the
 * moment they arrive, but React sees a new model only on a timer (a few frames
 * per second), so thousands of events a second cost thousands of cheap folds
 * and a handful of renders. The terminal is always given back as it was: the
 * alternate screen is left and the cursor shown on `q`, Ctrl-C, an unmount
 * from outside, and process exit.
 */
import { render } from 'ink';
import { useEffect, useLayoutEffect, useState, useSyncExternalStore } from 'react';
import type { NodeId, Protocol } from '../core/types.js';
import type { ClusterEvent } from '../node/events.js';
import { Dashboard, type DashboardActions } from './dashboard.js';
import { HeldFeed, type HeldSnapshot, NO_HELD, type ReadHeld } from './held-feed.js';
import {
  applyEvent,
  type DashboardState,
  initialDashboard,
  type MissedChosen,
  markRemoved,
  markStopped,
  seedChosen,
} from './model.js';

export interface StartDashboardOptions {
  readonly subscribe: (onEvent: (e: ClusterEvent) => void) => () => void;
  readonly actions: DashboardActions;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly stdout?: NodeJS.WriteStream;
  readonly stdin?: NodeJS.ReadStream;
  /** Frames per second; default 5. */
  readonly fps?: number;
  /** Default: on unless NO_COLOR is set to a non-empty value. */
  readonly color?: boolean;
  /**
   * Reads the values chosen before the dashboard started. It runs once, in
   * the background, so a slow or dead replica never delays the first frame;
   * should it reject anyway, that too is only a line in the log pane.
   */
  readonly missedChosen?: () => Promise<MissedChosen>;
  /** The cluster was started with `paxos up --step` (its status says so); default false. */
  readonly step?: boolean;
  /**
   * Reads the held messages; used only in step mode, every HELD_POLL_MS and
   * right after each step action. A failed read is shown above the list.
   */
  readonly held?: ReadHeld;
  /** How often the held messages are read between step actions; HELD_POLL_MS unless a test needs polling out of the way. */
  readonly heldPollMs?: number;
  /** Ids of replicas removed from the cluster for good: their rows are not shown (see the model's markRemoved). */
  readonly removed?: readonly NodeId[];
  /** `paxos up`: `q` stops the cluster, and the dashboard says so. */
  readonly quitStopsCluster?: boolean;
}

export interface DashboardHandle {
  /** Resolves once the dashboard is gone and the terminal restored, whichever way it ended. */
  waitUntilExit(): Promise<void>;
  /** Idempotent; safe to call from a crash handler. */
  unmount(): void;
  /** The cluster is gone: says so, in place of the faults line, from the next frame on (which is drawn at once). */
  stopped(reason: string): void;
}

const DEFAULT_FPS = 5;
const MAX_FPS = 30;
const ENTER_ALT_SCREEN = '\x1b[?1049h';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * Holds the folded model and publishes it to React only when `publish` is
 * called (by the frame timer). Exported so the batching can be tested without
 * a clock.
 */
export class FrameStore {
  private pending: DashboardState;
  private published: DashboardState;
  private readonly listeners = new Set<() => void>();

  constructor(initial: DashboardState) {
    this.pending = initial;
    this.published = initial;
  }

  push(event: ClusterEvent): void {
    this.pending = applyEvent(this.pending, event);
  }

  /** Marks the cluster gone; see markStopped. */
  stop(reason: string): void {
    this.pending = markStopped(this.pending, reason);
  }

  /** Folds in the values chosen before the dashboard started; see seedChosen. */
  seed(missed: MissedChosen, atMs = Date.now()): void {
    this.pending = seedChosen(this.pending, missed, atMs);
  }

  /** Hands the latest model to React if anything changed since the last frame; returns whether it did. */
  publish(): boolean {
    if (this.pending === this.published) return false;
    this.published = this.pending;
    for (const listener of this.listeners) listener();
    return true;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): DashboardState => this.published;
}

/**
 * Switches to the alternate screen and back. Only on a terminal: escape
 * codes in a pipe or a log file are noise. Leaving is idempotent because
 * several exit paths may each try it.
 */
export class ScreenGuard {
  private entered = false;

  constructor(private readonly stdout: NodeJS.WriteStream) {}

  enter(): void {
    if (this.entered || !this.stdout.isTTY) return;
    this.entered = true;
    this.stdout.write(ENTER_ALT_SCREEN + HIDE_CURSOR);
  }

  readonly leave = (): void => {
    if (!this.entered) return;
    this.entered = false;
    try {
      this.stdout.write(LEAVE_ALT_SCREEN + SHOW_CURSOR);
    } catch {
      // The terminal is gone (a closed pty); there is nothing left to restore.
    }
  };
}

interface RootProps {
  readonly store: FrameStore;
  readonly feed: HeldFeed | null;
  readonly step: boolean;
  readonly actions: DashboardActions;
  readonly stdout: NodeJS.WriteStream;
  readonly color: boolean;
  readonly quitStopsCluster: boolean;
  readonly onUnmount: () => void;
}

/** One line fewer than the terminal: a frame filling every row makes Ink clear the whole terminal, scrollback included, on each render. */
function terminalSize(stdout: NodeJS.WriteStream): { columns: number; rows: number } {
  return { columns: stdout.columns || 80, rows: Math.max(1, (stdout.rows || 24) - 1) };
}

/** Stands in for the feed outside step mode, so the hooks below are called the same way every render. */
const noFeed = { subscribe: () => () => undefined, getSnapshot: (): HeldSnapshot => NO_HELD };

function Root({ store, feed, step, actions, stdout, color, quitStopsCluster, onUnmount }: RootProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const held = useSyncExternalStore((feed ?? noFeed).subscribe, (feed ?? noFeed).getSnapshot);
  const [size, setSize] = useState(() => terminalSize(stdout));
  useEffect(() => {
    const onResize = () => setSize(terminalSize(stdout));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  // A layout effect's cleanup runs synchronously inside Ink's unmount, which covers the paths
  // that never reach our own code: Ctrl-C, and Ink's signal handler on SIGTERM or SIGHUP.
  useLayoutEffect(() => onUnmount, [onUnmount]);
  return (
    <Dashboard
      state={state}
      actions={actions}
      columns={size.columns}
      rows={size.rows}
      color={color}
      step={step}
      held={held}
      quitStopsCluster={quitStopsCluster}
    />
  );
}

/**
 * Every step action changes what is held, so each reads the list again once
 * it has answered, whether it worked or not: the user should not wait for
 * the next poll to see what a key did.
 */
function refreshingAfterSteps(actions: DashboardActions, feed: HeldFeed | null): DashboardActions {
  if (feed === null) return actions;
  const after =
    <A extends unknown[]>(action: (...args: A) => Promise<string | void>) =>
    async (...args: A): Promise<string | void> => {
      try {
        return await action(...args);
      } finally {
        feed.refresh();
      }
    };
  return {
    ...actions,
    tick: after(actions.tick),
    deliverAll: after(actions.deliverAll),
    dropAll: after(actions.dropAll),
    release: after(actions.release),
    tickNode: after(actions.tickNode),
  };
}

export function startDashboard(options: StartDashboardOptions): DashboardHandle {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const fps = Math.min(MAX_FPS, Math.max(1, options.fps ?? DEFAULT_FPS));
  const color = options.color ?? !process.env.NO_COLOR;
  const store = new FrameStore(
    markRemoved(
      initialDashboard({ clusterSize: options.clusterSize, protocol: options.protocol }),
      options.removed ?? [],
    ),
  );
  const screen = new ScreenGuard(stdout);
  const feed =
    options.step === true && options.held !== undefined ? new HeldFeed(options.held, options.heldPollMs) : null;

  let finished = false;
  let unsubscribe: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let unmountInk: () => void = () => undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    feed?.stop();
    process.off('exit', screen.leave);
    try {
      unsubscribe();
      unmountInk();
    } finally {
      screen.leave();
    }
  };
  // `q` takes the dashboard down first, so the terminal is back even if the caller's quit is slow or fails.
  const actions: DashboardActions = {
    ...refreshingAfterSteps(options.actions, feed),
    quit: () => {
      finish();
      return options.actions.quit();
    },
  };

  screen.enter();
  process.on('exit', screen.leave);
  try {
    unsubscribe = options.subscribe((e) => store.push(e));
    // Asked only after subscribing, so a value chosen while the log is being read is not lost between the two: it arrives
    // live, possibly in the log as well, and the model keeps one copy.
    options.missedChosen?.().then(
      (missed) => store.seed(missed),
      (err: unknown) => store.seed({ node: null, error: err instanceof Error ? err.message : String(err) }),
    );
    feed?.refresh();
    timer = setInterval(() => store.publish(), Math.round(1000 / fps));
    store.publish();
    const instance = render(
      <Root
        store={store}
        feed={feed}
        step={options.step === true}
        actions={actions}
        stdout={stdout}
        color={color}
        quitStopsCluster={options.quitStopsCluster === true}
        onUnmount={finish}
      />,
      { stdout, stdin, exitOnCtrlC: true },
    );
    unmountInk = () => instance.unmount();
    const exited = instance
      .waitUntilExit()
      .then(() => undefined)
      .finally(finish);
    // A render error rejects `exited`; it is reported to whoever waits, and must not be an unhandled rejection otherwise.
    exited.catch(() => undefined);
    const stopped = (reason: string): void => {
      store.stop(reason);
      store.publish();
    };
    return { waitUntilExit: () => exited, unmount: finish, stopped };
  } catch (err) {
    finish();
    throw err;
  }
}
