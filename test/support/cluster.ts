/**
 * Real clusters for integration tests: an orchestrator in the test process,
 * replicas as real child processes on loopback, each test in its own
 * PAXOS_HOME. `stop()` must run in a finally/after hook; it leaves no process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orchestrator, type ClusterStatus } from '../../src/cluster/orchestrator.js';
import type { ClientReply, Protocol } from '../../src/core/types.js';
import { connectControl, type ControlClient } from '../../src/transport/ws-transport.js';

export type Reply = ClientReply & { latencyMs?: number };

export class TestCluster {
  private readonly clients = new Map<number, ControlClient>();

  private constructor(readonly orchestrator: Orchestrator, readonly home: string, readonly clusterSize: number) {}

  static async start(o: { nodes: number; protocol: Protocol; tickMs?: number }): Promise<TestCluster> {
    const home = mkdtempSync(join(tmpdir(), 'paxos-it-'));
    try {
      const orchestrator = await Orchestrator.start({ home, clusterSize: o.nodes, protocol: o.protocol, ...(o.tickMs ? { tickMs: o.tickMs } : {}) });
      return new TestCluster(orchestrator, home, o.nodes);
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

  private async client(node: number): Promise<ControlClient> {
    const existing = this.clients.get(node);
    if (existing) return existing;
    const c = await connectControl({ host: '127.0.0.1', port: this.port(node), secret: this.secret, timeoutMs: 3000 });
    c.onClose(() => this.clients.delete(node));
    this.clients.set(node, c);
    return c;
  }

  /** Sends a request to one replica; a timeout or refusal comes back as a failed reply, not a throw. */
  async request(node: number, body: { op: 'propose'; key: string; value: string } | { op: 'get'; key: string } | { op: 'status' } | { op: 'kv' }, timeoutMs = 5000): Promise<Reply> {
    try {
      const c = await this.client(node);
      return (await c.request(body, timeoutMs)) as Reply;
    } catch (err) {
      return { requestId: '', ok: false, error: (err as Error).message };
    }
  }

  /** What one replica holds, sorted by key. */
  async kv(node: number): Promise<[string, string][]> {
    const c = await this.client(node);
    return ((await c.request({ op: 'kv' }, 5000)) as { entries: [string, string][] }).entries;
  }

  propose(node: number, key: string, value: string, timeoutMs = 5000): Promise<Reply> {
    return this.request(node, { op: 'propose', key, value }, timeoutMs);
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

  kill(node: number): void {
    this.clients.get(node)?.close();
    this.clients.delete(node);
    this.orchestrator.kill(node);
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
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await this.orchestrator.down();
    rmSync(this.home, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` passes or the deadline passes; returns whether it passed. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}
