/**
 * The orchestrator's control server: where replicas register (the 003
 * article's registry) and where the CLI, `paxos check` and the dashboard ask
 * for status, faults, crashes and step-mode releases. It listens on a unix
 * socket in the home, mode 0600 (as pm2 and docker do): another local user
 * cannot even open a connection to it, let alone flood it; and it still
 * asks for the cluster's secret like everything else. Each request is checked
 * by `OrchestratorRequestSchema`, then answered by the one handler of its op
 * in a table typed by the request/reply map, so a handler cannot answer with
 * another op's reply.
 */
import type { NodeId } from '../core/types.js';
import { OperatingError } from '../errors.js';
import type { ClusterEvent } from '../node/events.js';
import type { StepRelease } from '../node/step.js';
import type { FaultRules } from '../transport/faults.js';
import { startWsServer } from '../transport/server.js';
import type { ClusterStatus, OrchestratorOp, OrchestratorRequestOf, OrchestratorRpc } from './orchestrator-rpc.js';
import { OrchestratorRequestSchema, parseOrThrow } from './schemas.js';

const MAX_CONTROL_FRAME_BYTES = 1024 * 1024;

/** One client's connection as a handler sees it: events pushed to it, and cleanups run when it closes. */
export interface ControlPeer {
  push(event: ClusterEvent): void;
  onClose(cleanup: () => void): void;
}

type Answer<K extends OrchestratorOp> = OrchestratorRpc[K]['reply'];
type RequestMap = { [K in OrchestratorOp]: OrchestratorRequestOf<K> };
export type Handlers = {
  readonly [K in OrchestratorOp]: (req: RequestMap[K], peer: ControlPeer) => Answer<K> | Promise<Answer<K>>;
};

/** What the control API does with the orchestrator: its public operations, and registration. */
export interface Orchestrated {
  readonly faults: FaultRules;
  register(node: NodeId, port: number, pid: number): Promise<void>;
  status(): ClusterStatus;
  subscribe(listener: (e: ClusterEvent) => void): () => void;
  killAndWait(node: NodeId): Promise<void>;
  restart(node: NodeId): Promise<void>;
  recover(node: NodeId): Promise<void>;
  killAll(): Promise<NodeId[]>;
  restartAll(): Promise<NodeId[]>;
  pause(node: NodeId): void;
  resume(node: NodeId): void;
  resumeAll(): NodeId[];
  partition(groups: readonly (readonly NodeId[])[]): void;
  isolate(node: NodeId): void;
  heal(): void;
  setNet(net: { delayMs?: { min: number; max: number } | null; dropRate?: number }): void;
  addLearner(): Promise<{ node: NodeId; port: number }>;
  removeReplica(node: NodeId): Promise<void>;
  markVoter(node: NodeId): void;
  held(): Promise<Answer<'held'>>;
  release(op: StepRelease, ids: readonly string[] | 'all'): Promise<Answer<StepRelease>>;
  tick(node: NodeId | 'all', count: number): Promise<Answer<'tick'>>;
  /** `paxos down`: stops the cluster after this request is answered. */
  stopSoon(): void;
}

/** The op → handler table: each op's work and its answer. */
export function controlHandlers(o: Orchestrated): Handlers {
  const done = { ok: true } as const;
  const withFaults = (act: () => void) => () => {
    act();
    return { ok: true as const, faults: o.faults };
  };
  return {
    register: async (req) => {
      await o.register(req.node, req.port, req.pid);
      return done;
    },
    status: () => ({ cluster: o.status() }),
    subscribe: (_req, peer) => {
      peer.onClose(o.subscribe((e) => peer.push(e)));
      return { ok: true, cluster: o.status() };
    },
    kill: async (req) => {
      await o.killAndWait(req.node);
      return done;
    },
    restart: async (req) => {
      await o.restart(req.node);
      return done;
    },
    recover: async (req) => {
      await o.recover(req.node);
      return done;
    },
    'kill-all': async () => ({ ok: true, nodes: await o.killAll() }),
    'restart-all': async () => ({ ok: true, nodes: await o.restartAll() }),
    pause: (req) => {
      o.pause(req.node);
      return done;
    },
    resume: (req) => {
      o.resume(req.node);
      return done;
    },
    'resume-all': () => ({ ok: true, nodes: o.resumeAll() }),
    partition: (req) => withFaults(() => o.partition(req.groups))(),
    isolate: (req) => withFaults(() => o.isolate(req.node))(),
    heal: withFaults(() => o.heal()),
    net: (req) => withFaults(() => o.setNet(req))(),
    'add-learner': async () => ({ ok: true, ...(await o.addLearner()) }),
    'remove-replica': async (req) => {
      await o.removeReplica(req.node);
      return done;
    },
    'mark-voter': (req) => {
      o.markVoter(req.node);
      return done;
    },
    held: () => o.held(),
    deliver: (req) => o.release('deliver', req.ids ?? 'all'),
    drop: (req) => o.release('drop', req.ids ?? 'all'),
    duplicate: (req) => o.release('duplicate', req.ids ?? 'all'),
    tick: (req) => o.tick(req.node ?? 'all', req.count),
    down: () => {
      o.stopSoon();
      return done;
    },
  };
}

/** Starts the control server on the unix socket `socketPath`, answering with `handlers`. */
export async function startRegistry(o: {
  readonly socketPath: string;
  readonly secret: string;
  readonly clusterSize: number;
  readonly log: (line: string) => void;
  readonly handlers: Handlers;
}): Promise<{ close(): Promise<void> }> {
  return startWsServer({
    socketPath: o.socketPath,
    port: 0,
    secret: o.secret,
    clusterSize: o.clusterSize,
    maxFrameBytes: MAX_CONTROL_FRAME_BYTES,
    validate: () => null,
    onPeerMessage: () => undefined,
    log: o.log,
    onControl: (conn) => accept(conn, o.handlers),
  });
}

interface ControlConnectionLike {
  onRequest(handler: (req: unknown) => Promise<unknown> | unknown): void;
  push(event: unknown): void;
  onClose?(handler: () => void): void;
}

function accept(conn: ControlConnectionLike, handlers: Handlers): void {
  const cleanups: (() => void)[] = [];
  const peer: ControlPeer = {
    push: (e) => conn.push(e),
    onClose: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
  // Async, so that a refusal thrown while checking or handling becomes the request's error answer.
  conn.onRequest(async (raw) => {
    const req = parseOrThrow(OrchestratorRequestSchema, raw, 'the request', (sentence) => new OperatingError(sentence));
    return answer(handlers, req.op, req, peer);
  });
  conn.onClose?.(() => {
    for (const u of cleanups) u();
  });
}

/** The handler of `op`; generic so that the request and the handler are known to be of the same op. */
async function answer<K extends OrchestratorOp>(
  handlers: Handlers,
  op: K,
  req: RequestMap[K],
  peer: ControlPeer,
): Promise<unknown> {
  return handlers[op](req, peer);
}
