/**
 * Glue between a cluster and the dashboard: the dashboard renders events and
 * calls actions; this file decides what those actions do. It works the same
 * for `paxos up` (orchestrator in this process) and `paxos ui` (over the wire).
 */

import { ClusterClient, type TickResult } from '../../cluster/client.js';
import type { ClusterStatus, Orchestrator } from '../../cluster/orchestrator.js';
import { isProcessAlive } from '../../cluster/record.js';
import type { Protocol } from '../../core/types.js';
import { nodeName } from '../../core/types.js';
import type { ClusterEvent } from '../../node/events.js';
import { type HeldMessage, RELEASED, type StepRelease } from '../../node/step.js';
import { type ControlClient, connectControl } from '../../transport/ws-transport.js';
import { type ChosenEntry, type MissedChosen, SEED_LIMIT } from '../../ui/model.js';
import { startDashboard } from '../../ui/render.js';
import { AlreadyChosenError, describeResult, parseAssignment, runClientCommand } from './propose.js';
import { releasedLine, tickLine } from './step.js';

/**
 * Frames per second. Ink redraws the whole screen each frame, and the replicas
 * pay for its CPU on a 2-core machine. Measured with paxos bench --attach
 * (20,000 proposals at concurrency 64, three alternating pairs): React's
 * development build at 5 fps cost 18% of the throughput; the production build
 * at 4 fps costs nothing measurable against the noise.
 */
const DASHBOARD_FPS = Number(process.env.PAXOS_DASHBOARD_FPS ?? 4);

export interface DashboardActions {
  kill(id: number): Promise<void>;
  restart(id: number): Promise<void>;
  propose(text: string): Promise<string>;
  isolate(id: number): Promise<void>;
  heal(): Promise<void>;
  quit(): Promise<void>;
}

/**
 * The dashboard's `p`: answers in the sentence `paxos propose` prints, what
 * was chosen and where (slot or key, ballot, via which replica), or that
 * another value had been chosen already. `run` is the client command,
 * replaceable so the sentence can be tested without a cluster.
 */
export function proposeAction(run: typeof runClientCommand = runClientCommand): (text: string) => Promise<string> {
  return async (text) => {
    const { key, value } = parseAssignment(text.trim());
    const result = await run({ command: { op: 'propose', key, value }, timeoutMs: 5000 });
    // Basic Paxos: another value was chosen before; the sentence says so, as `paxos propose` does when it refuses.
    if (result.alreadyChosen === true) return new AlreadyChosenError(result, value).message;
    return describeResult(result);
  };
}

/**
 * How long one replica may take to answer while the earlier chosen values are
 * read. Short, because a replica that is slow now is probably partitioned
 * or paused, and the next one may answer at once.
 */
const HISTORY_TIMEOUT_MS = 3000;

/** Opens a control connection to one replica; the caller closes it. */
export type OpenReplica = (node: number) => Promise<Pick<ControlClient, 'request' | 'close'>>;

/**
 * Reads the most recent values chosen before the dashboard started, from the
 * first replica that answers among those that are up and not paused (a
 * paused one would only time out). It never rejects: a failure comes back as
 * the reason, for one line in the dashboard's log pane.
 */
export async function readMissedChosen(
  protocol: Protocol,
  candidates: readonly number[],
  open: OpenReplica,
): Promise<MissedChosen> {
  if (candidates.length === 0) return { node: null, error: 'no replica is up to read them from' };
  let failure: MissedChosen = { node: null, error: 'no replica answered' };
  for (const node of candidates) {
    try {
      return { node, entries: await readRecentChosen(protocol, node, open) };
    } catch (err) {
      failure = { node, error: `${nodeName(node)}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return failure;
}

/**
 * One replica's latest chosen values, newest first. Multi-Paxos pages its log
 * by slot, so the read starts SEED_LIMIT slots below the commit index and
 * the whole log is never sent. Basic pages by position in the sorted keys;
 * the first page holds every key a lab cluster has, and its last SEED_LIMIT
 * are shown. The log keeps no ballots, so every entry's ballot is unknown.
 */
async function readRecentChosen(protocol: Protocol, node: number, open: OpenReplica): Promise<ChosenEntry[]> {
  const conn = await open(node);
  try {
    let from = 0;
    if (protocol === 'multi') {
      const reply = (await conn.request({ op: 'status' }, HISTORY_TIMEOUT_MS)) as {
        status?: { view?: { commitIndex?: unknown } };
      };
      const commitIndex = reply.status?.view?.commitIndex;
      from =
        typeof commitIndex === 'number' && Number.isSafeInteger(commitIndex)
          ? Math.max(1, commitIndex - SEED_LIMIT)
          : 1;
    }
    const page = (await conn.request({ op: 'log', from }, HISTORY_TIMEOUT_MS)) as { entries?: unknown };
    if (!Array.isArray(page.entries)) throw new Error('its log answer has no entries');
    const atMs = Date.now();
    // The replica is ours, but its answer still comes off a socket: anything not shaped like an entry is skipped.
    const entries = page.entries
      .filter(
        (e): e is [string, string, string] =>
          Array.isArray(e) && e.length >= 3 && e.every((x) => typeof x === 'string'),
      )
      .map(([instance, , text]): ChosenEntry => ({ instance, value: text, ballot: null, atMs }));
    if (protocol === 'multi') entries.sort((a, b) => Number(a.instance) - Number(b.instance));
    return entries.slice(-SEED_LIMIT).reverse();
  } finally {
    conn.close();
  }
}

/** One row per id up to the highest member's: replicas that joined (paxos add) have ids beyond the bootstrap size. */
function rowsFor(status: ClusterStatus): number {
  return Math.max(status.clusterSize, ...status.replicas.map((r) => r.id));
}

/**
 * Ids below the highest that the cluster no longer has (removed by `paxos
 * remove` or `replace`): the manifest says so when the status carries it,
 * and an id missing from the replicas is one too.
 */
export function removedIds(status: ClusterStatus): number[] {
  const listed = new Set(status.replicas.map((r) => r.id));
  const removed = new Set((status.members ?? []).filter((m) => m.state === 'removed').map((m) => m.id));
  for (let id = 1; id <= rowsFor(status); id++) if (!listed.has(id)) removed.add(id);
  return [...removed].filter((id) => !listed.has(id)).sort((a, b) => a - b);
}

/**
 * What a dashboard starting now missed: the cluster's shape, which replicas
 * are up or down, and the faults in force (`paxos partition`, `net`, a
 * template's network), all from the status it was given. Faults are
 * otherwise only announced when they change, so without this a dashboard
 * attached after `paxos partition node-1` said "faults: none".
 */
export function initialEvents(status: ClusterStatus, atMs: number, withDown: boolean): ClusterEvent[] {
  const events: ClusterEvent[] = [{ type: 'cluster', clusterSize: rowsFor(status), protocol: status.protocol, atMs }];
  for (const r of status.replicas)
    if (r.up && r.pid !== null) events.push({ type: 'replica-up', node: r.id, pid: r.pid, atMs });
  if (withDown)
    for (const r of status.replicas) if (!r.up) events.push({ type: 'replica-down', node: r.id, reason: 'down', atMs });
  const f = status.faults;
  if (f.partition !== undefined || f.delayMs !== undefined || (f.dropRate ?? 0) > 0) {
    events.push({
      type: 'faults',
      partition: f.partition ?? null,
      delayMs: f.delayMs ?? null,
      dropRate: f.dropRate ?? 0,
      atMs,
    });
  }
  return events;
}

/** How often `paxos ui` asks whether its cluster is still there. */
const GONE_POLL_MS = 1000;

/**
 * Calls `onGone` once when the cluster stops answering for good: the
 * connection to its orchestrator closed (`paxos down` from another terminal,
 * or the orchestrator died) or its process is gone. A slow answer is not
 * that. Returns the function that stops watching.
 */
export function watchClusterGone(o: {
  poll: () => Promise<unknown>;
  alive: () => boolean;
  onGone: (reason: string) => void;
  intervalMs?: number;
}): () => void {
  let done = false;
  const check = async () => {
    try {
      await o.poll();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (done) return;
      if (/connection (is )?closed|closed before an answer/i.test(message) || !o.alive()) {
        done = true;
        clearInterval(timer);
        o.onGone(
          o.alive()
            ? `its orchestrator closed the connection (${message}): paxos down was run, or it is exiting`
            : 'paxos down was run, or its orchestrator exited',
        );
      }
    }
  };
  const timer = setInterval(() => void check(), o.intervalMs ?? GONE_POLL_MS);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}

/** The replicas worth asking for history: up, and not frozen by `paxos pause`. */
function answeringReplicas(status: ClusterStatus): number[] {
  return status.replicas.filter((r) => r.up && r.paused !== true).map((r) => r.id);
}

/** `paxos up` on a terminal: the dashboard until `q`, Ctrl-C, or the cluster stopping. */
export async function watchWithDashboard(
  orchestrator: Orchestrator,
  stopped: Promise<void>,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<void> {
  const status = orchestrator.status();
  const dashboard = startDashboard({
    clusterSize: rowsFor(status),
    protocol: status.protocol,
    color: process.env.NO_COLOR === undefined,
    fps: DASHBOARD_FPS,
    step: status.step === true,
    held: () => orchestrator.held(),
    removed: removedIds(status),
    quitStopsCluster: true,
    subscribe: (onEvent: (e: ClusterEvent) => void) => {
      for (const e of initialEvents(status, Date.now(), false)) onEvent(e);
      return orchestrator.subscribe(onEvent);
    },
    // `paxos up` starts with empty data, but a client in another terminal can get values chosen before this subscription;
    // reading them costs one or two requests, and the dashboard then behaves the same however it was started.
    missedChosen: () => {
      const record = orchestrator.record();
      return readMissedChosen(status.protocol, answeringReplicas(status), async (node) => {
        const port = record.replicas.find((r) => r.id === node)?.port;
        if (port === undefined) throw new Error('it is not in the cluster record');
        return connectControl({ host: record.host, port, secret: record.secret, timeoutMs: HISTORY_TIMEOUT_MS });
      });
    },
    actions: {
      kill: async (id: number) => orchestrator.kill(id),
      restart: async (id: number) => orchestrator.restart(id),
      propose: proposeAction(),
      isolate: async (id: number) => orchestrator.isolate(id),
      heal: async () => orchestrator.heal(),
      quit: async () => undefined,
      ...stepActions({
        tick: async (node, count) => (await orchestrator.tick(node, count)).ticks,
        release: async (op, ids) => (await orchestrator.release(op, ids)).done,
      }),
    },
  });
  const how = await Promise.race([
    dashboard.waitUntilExit().then(() => 'quit' as const),
    stopped.then(() => 'stopped' as const),
  ]);
  if (how === 'stopped') {
    // Stopped from outside (paxos down in another terminal, a signal): say so on the dashboard, long enough to read,
    // and again on the terminal once the dashboard has gone, since the alternate screen takes the first with it.
    dashboard.stopped(STOPPED_ELSEWHERE);
    await new Promise((resolve) => setTimeout(resolve, STOPPED_NOTICE_MS));
  }
  dashboard.unmount();
  out(
    how === 'stopped'
      ? `the cluster stopped: ${STOPPED_ELSEWHERE}`
      : 'dashboard closed (q or Ctrl-C): stopping the cluster (paxos up --detach keeps one running without a dashboard)',
  );
}

const STOPPED_ELSEWHERE = 'paxos down was run, or this process was signalled';
/** How long `paxos up` shows that its cluster stopped before giving the terminal back. */
const STOPPED_NOTICE_MS = 1500;

/** `paxos ui`: the same dashboard attached to a detached cluster; quitting leaves the cluster running. */
export async function attachDashboard(): Promise<void> {
  const cluster = await ClusterClient.connect();
  const events: ClusterEvent[] = [];
  let deliver: ((e: ClusterEvent) => void) | null = null;
  const status = await cluster.subscribe((e) => (deliver ? deliver(e) : events.push(e)));
  const dashboard = startDashboard({
    clusterSize: rowsFor(status),
    protocol: status.protocol,
    color: process.env.NO_COLOR === undefined,
    fps: DASHBOARD_FPS,
    step: status.step === true,
    held: () => cluster.held(),
    removed: removedIds(status),
    subscribe: (onEvent: (e: ClusterEvent) => void) => {
      for (const e of initialEvents(status, Date.now(), true)) onEvent(e);
      for (const e of events.splice(0)) onEvent(e);
      deliver = onEvent;
      return () => {
        deliver = null;
      };
    },
    missedChosen: () => readMissedChosen(status.protocol, answeringReplicas(status), (node) => cluster.replica(node)),
    actions: {
      kill: (id: number) => cluster.kill(id),
      restart: (id: number) => cluster.restart(id),
      propose: proposeAction(),
      isolate: (id: number) => cluster.isolate(id),
      heal: () => cluster.heal(),
      quit: async () => undefined,
      ...stepActions({
        tick: (node, count) => cluster.tick(node, count),
        release: (op, ids) => cluster.release(op, ids),
      }),
    },
  });
  // The dashboard stays up once the cluster is gone, saying so, until q: the user may want to read its last state.
  const stopWatching = watchClusterGone({
    poll: () => cluster.status(),
    alive: () => isProcessAlive(cluster.record.orchestratorPid),
    onGone: (reason) => dashboard.stopped(reason),
  });
  await dashboard.waitUntilExit();
  stopWatching();
  dashboard.unmount();
  cluster.close();
}

/** The step requests the dashboard makes, answered by the orchestrator in this process or over a connection to it. */
interface StepRequests {
  tick(node: number | 'all', count: number): Promise<readonly TickResult[]>;
  release(op: StepRelease, ids: readonly string[] | 'all'): Promise<readonly HeldMessage[]>;
}

/**
 * The dashboard's step keys: t, d and x on everything, and the keys that act
 * on one held message or the selected replica. Each answers in one line (a
 * single message in the words `paxos deliver` prints), and a cluster not in
 * step mode refuses in the orchestrator's own sentence.
 */
function stepActions(o: StepRequests): {
  tick: () => Promise<string>;
  deliverAll: () => Promise<string>;
  dropAll: () => Promise<string>;
  release: (op: StepRelease, id: string) => Promise<string>;
  tickNode: (id: number) => Promise<string>;
} {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return {
    tick: async () => {
      const ticks = await o.tick('all', 1);
      return `ticked ${count(ticks.length, 'replica')} once: ${count(
        ticks.reduce((sum, t) => sum + t.newlyHeld, 0),
        'new message',
      )} held`;
    },
    deliverAll: async () => `delivered ${count((await o.release('deliver', 'all')).length, 'held message')}`,
    dropAll: async () => `dropped ${count((await o.release('drop', 'all')).length, 'held message')}`,
    release: async (op, id) => releasedLine(RELEASED[op], await o.release(op, [id])),
    tickNode: async (id) => tickLine(await o.tick(id, 1), 1),
  };
}
