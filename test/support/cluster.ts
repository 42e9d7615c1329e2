/**
 * Real clusters for integration tests: an orchestrator in the test process,
 * replicas as real child processes on loopback, each test in its own
 * PAXOS_HOME. `stop()` must run in a finally/after hook; it leaves no process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterStatus, Orchestrator } from '../../src/cluster/orchestrator.js';
import type { Ballot } from '../../src/core/ballot.js';
import type { ClientReply, Protocol } from '../../src/core/types.js';
import { type ControlClient, connectControl } from '../../src/transport/ws-transport.js';

export type Reply = ClientReply & { latencyMs?: number };

export class TestCluster {
  /** Promises, so concurrent first requests to one replica share one connection. */
  private readonly clients = new Map<number, Promise<ControlClient>>();

  private constructor(
    readonly orchestrator: Orchestrator,
    readonly home: string,
    readonly clusterSize: number,
    readonly protocol: Protocol,
  ) {}

  /** `traceFile`: as `paxos up --trace`; put it outside the cluster's home, which `stop()` deletes. */
  static async start(o: {
    nodes: number;
    protocol: Protocol;
    tickMs?: number;
    snapshotEverySlots?: number;
    traceFile?: string;
  }): Promise<TestCluster> {
    const home = mkdtempSync(join(tmpdir(), 'paxos-it-'));
    try {
      const orchestrator = await Orchestrator.start({
        home,
        clusterSize: o.nodes,
        protocol: o.protocol,
        ...(o.tickMs ? { tickMs: o.tickMs } : {}),
        ...(o.snapshotEverySlots !== undefined ? { snapshotEverySlots: o.snapshotEverySlots } : {}),
        ...(o.traceFile !== undefined ? { traceFile: o.traceFile } : {}),
      });
      return new TestCluster(orchestrator, home, o.nodes, o.protocol);
    } catch (err) {
      rmSync(home, { recursive: true, force: true });
      throw err;
    }
  }

  get secret(): string {
    return this.orchestrator.record().secret;
  }

  port(node: number): number {
    return this.orchestrator.record().replicas.find((r) => r.id === node)!.port;
  }

  status(): ClusterStatus {
    return this.orchestrator.status();
  }

  private client(node: number): Promise<ControlClient> {
    const existing = this.clients.get(node);
    if (existing) return existing;
    const connecting = connectControl({
      host: '127.0.0.1',
      port: this.port(node),
      secret: this.secret,
      timeoutMs: 3000,
    });
    this.clients.set(node, connecting);
    connecting.then(
      (c) =>
        c.onClose(() => {
          if (this.clients.get(node) === connecting) this.clients.delete(node);
        }),
      () => {
        if (this.clients.get(node) === connecting) this.clients.delete(node);
      },
    );
    return connecting;
  }

  private dropClient(node: number): void {
    const c = this.clients.get(node);
    this.clients.delete(node);
    void c?.then(
      (x) => x.close(),
      () => undefined,
    );
  }

  /** Sends a request to one replica; a timeout or refusal comes back as a failed reply, not a throw. */
  async request(
    node: number,
    body: { op: 'propose'; key: string; value: string } | { op: 'get'; key: string } | { op: 'status' } | { op: 'kv' },
    timeoutMs = 5000,
  ): Promise<Reply> {
    try {
      const c = await this.client(node);
      const r = (await c.request(body, timeoutMs)) as Reply & { reason?: string };
      // The control API sends a refused or unknown command's sentence as `reason`.
      return r.ok === false && typeof r.reason === 'string' ? { ...r, error: r.reason } : r;
    } catch (err) {
      return { requestId: '', ok: false, outcome: 'unknown', code: 'timeout', error: (err as Error).message };
    }
  }

  /** What one replica holds, sorted by key. */
  async kv(node: number): Promise<[string, string][]> {
    const c = await this.client(node);
    return ((await c.request({ op: 'kv' }, 5000)) as { entries: [string, string][] }).entries;
  }

  /** Whether every given replica (all by default) answers and holds exactly the same key-value pairs. */
  async converged(nodes: readonly number[] = this.ids()): Promise<boolean> {
    const dumps = await Promise.all(
      nodes.map((id) =>
        this.kv(id).then(
          (d) => JSON.stringify(d),
          () => null,
        ),
      ),
    );
    return dumps.every((d) => d !== null && d === dumps[0]);
  }

  /** The ballot one replica has durably promised, from its status; null if it does not answer. */
  async promised(node: number): Promise<Ballot | null> {
    const r = (await this.request(node, { op: 'status' }, 3000)) as unknown as {
      status?: { view: { promised: Ballot } };
    };
    return r.status?.view.promised ?? null;
  }

  /** Whether a replica knows a leader (multi) by its own status, not the orchestrator's last copy. */
  async knowsLeader(node: number): Promise<boolean> {
    const r = (await this.request(node, { op: 'status' }, 3000)) as unknown as {
      status?: { view: { leader: number | null } };
    };
    return (r.status?.view.leader ?? null) !== null;
  }

  /** Where to send a proposal: the leader in multi mode, `fallback` in basic mode. */
  async entry(fallback: number, timeoutMs = 10_000): Promise<number> {
    return this.protocol === 'multi' ? this.leader(timeoutMs) : fallback;
  }

  ids(): number[] {
    return Array.from({ length: this.clusterSize }, (_, i) => i + 1);
  }

  propose(node: number, key: string, value: string, timeoutMs = 5000): Promise<Reply> {
    return this.request(node, { op: 'propose', key, value }, timeoutMs);
  }

  /**
   * Proposes until a reply is ok or the deadline passes, asking `via` for the
   * target before each attempt (the leader can change meanwhile). For paths
   * that are allowed a transient refusal, such as an election in progress.
   */
  async proposeUntilOk(o: {
    via: () => Promise<number> | number;
    key: string;
    value: string;
    deadlineMs?: number;
    timeoutMs?: number;
  }): Promise<Reply> {
    const deadline = Date.now() + (o.deadlineMs ?? 20_000);
    let last: Reply = { requestId: '', ok: false, outcome: 'refused', code: 'timeout', error: 'never tried' };
    for (let attempt = 0; attempt < 50 && Date.now() < deadline; attempt++) {
      const node = await Promise.resolve(o.via()).catch(() => null);
      if (node !== null) last = await this.propose(node, o.key, o.value, o.timeoutMs ?? 5000);
      if (last.ok) return last;
      await sleep(100);
    }
    return last;
  }

  get(node: number, key: string, timeoutMs = 5000): Promise<Reply> {
    return this.request(node, { op: 'get', key }, timeoutMs);
  }

  /** The node currently leading (multi), waiting for one to be known. */
  async leader(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const l = this.status().replicas.find((r) => r.up && r.status?.view.role === 'leader');
      if (l) return l.id;
      await sleep(50);
    }
    throw new Error('no leader within the deadline');
  }

  /** SIGKILL first, so the replica dies with whatever it was doing; then the test's connection to it goes. */
  kill(node: number): void {
    this.orchestrator.kill(node);
    this.dropClient(node);
  }

  async waitDown(node: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.status().replicas.find((r) => r.id === node)!.up) {
      if (Date.now() > deadline) throw new Error(`node-${node} did not go down`);
      await sleep(20);
    }
  }

  async restart(node: number): Promise<void> {
    await this.orchestrator.restart(node);
  }

  async stop(): Promise<void> {
    for (const id of [...this.clients.keys()]) this.dropClient(id);
    await this.orchestrator.down();
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` passes or the deadline passes; returns whether it passed. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

/**
 * A proposal refused for want of a majority: either the core's own answer
 * ("no quorum: 2 of 5 nodes reachable, 3 needed", with fewer reachable than
 * needed) or, on a slow machine, the client giving up first. Any other
 * failure, or a success, is returned as the problem; null means as expected.
 */
export function quorumRefusalProblem(r: Reply, o: { clusterSize: number; timeoutMs: number }): string | null {
  if (r.ok) return `decided without a majority: ${JSON.stringify(r)}`;
  if (r.error === `timed out after ${o.timeoutMs} ms`) return null;
  const m = /^no quorum: (\d+) of (\d+) nodes reachable, (\d+) needed(;.*)?$/.exec(r.error);
  if (m === null) return `the refusal does not name the missing quorum: "${r.error}"`;
  const needed = Math.floor(o.clusterSize / 2) + 1;
  if (Number(m[2]) !== o.clusterSize || Number(m[3]) !== needed || Number(m[1]) >= needed)
    return `a wrong count in "${r.error}"`;
  return null;
}
