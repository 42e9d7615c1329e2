/**
 * Glue between a cluster and the dashboard: the dashboard renders events and
 * calls actions; this file decides what those actions do. It works the same
 * for `paxos up` (orchestrator in this process) and `paxos ui` (over the wire).
 */
import type { Orchestrator } from '../../cluster/orchestrator.js';
import { ClusterClient } from '../../cluster/client.js';
import type { ClusterEvent } from '../../node/events.js';
import { startDashboard } from '../../ui/render.js';
import { parseAssignment, runClientCommand } from './propose.js';

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
  propose(text: string): Promise<void>;
  isolate(id: number): Promise<void>;
  heal(): Promise<void>;
  quit(): Promise<void>;
}

function proposeAction(): (text: string) => Promise<void> {
  return async (text) => {
    const { key, value } = parseAssignment(text.trim());
    await runClientCommand({ command: { op: 'propose', key, value }, timeoutMs: 5000 });
  };
}

/** `paxos up` on a terminal: the dashboard until `q`, Ctrl-C, or the cluster stopping. */
export async function watchWithDashboard(orchestrator: Orchestrator, stopped: Promise<void>): Promise<void> {
  const status = orchestrator.status();
  const dashboard = startDashboard({
    clusterSize: status.clusterSize, protocol: status.protocol, color: process.env.NO_COLOR === undefined, fps: DASHBOARD_FPS,
    subscribe: (onEvent: (e: ClusterEvent) => void) => {
      onEvent({ type: 'cluster', clusterSize: status.clusterSize, protocol: status.protocol, atMs: Date.now() });
      for (const r of status.replicas) if (r.up && r.pid !== null) onEvent({ type: 'replica-up', node: r.id, pid: r.pid, atMs: Date.now() });
      return orchestrator.subscribe(onEvent);
    },
    actions: {
      kill: async (id: number) => orchestrator.kill(id),
      restart: async (id: number) => orchestrator.restart(id),
      propose: proposeAction(),
      isolate: async (id: number) => orchestrator.isolate(id),
      heal: async () => orchestrator.heal(),
      quit: async () => undefined,
    },
  });
  await Promise.race([dashboard.waitUntilExit(), stopped]);
  dashboard.unmount();
}

/** `paxos ui`: the same dashboard attached to a detached cluster; quitting leaves the cluster running. */
export async function attachDashboard(): Promise<void> {
  const cluster = await ClusterClient.connect();
  const events: ClusterEvent[] = [];
  let deliver: ((e: ClusterEvent) => void) | null = null;
  const status = await cluster.subscribe((e) => (deliver ? deliver(e) : events.push(e)));
  const dashboard = startDashboard({
    clusterSize: status.clusterSize, protocol: status.protocol, color: process.env.NO_COLOR === undefined, fps: DASHBOARD_FPS,
    subscribe: (onEvent: (e: ClusterEvent) => void) => {
      onEvent({ type: 'cluster', clusterSize: status.clusterSize, protocol: status.protocol, atMs: Date.now() });
      for (const r of status.replicas) if (r.up && r.pid !== null) onEvent({ type: 'replica-up', node: r.id, pid: r.pid, atMs: Date.now() });
      for (const r of status.replicas) if (!r.up) onEvent({ type: 'replica-down', node: r.id, reason: 'down', atMs: Date.now() });
      for (const e of events.splice(0)) onEvent(e);
      deliver = onEvent;
      return () => { deliver = null; };
    },
    actions: {
      kill: (id: number) => cluster.kill(id),
      restart: (id: number) => cluster.restart(id),
      propose: proposeAction(),
      isolate: (id: number) => cluster.isolate(id),
      heal: () => cluster.heal(),
      quit: async () => undefined,
    },
  });
  await dashboard.waitUntilExit();
  dashboard.unmount();
  cluster.close();
}
