/**
 * The check's driver for replicas on other hosts (`paxos check --cluster
 * FILE`): every fault goes through each replica's admin API
 * (node/admin.ts), with the admin token of the cluster file. It neither
 * starts nor stops the cluster: kill is `crash` (the replica's supervisor
 * restarts it, and restart waits for that), pause is `freeze` (with a TTL),
 * and partitions, delay and drop are one versioned rule set sent to every
 * member, renewed while it is in force and left to expire if this driver
 * dies, so a dead driver never leaves the cluster partitioned.
 */
import { type Address, type ClusterFile, clientTlsOf, readClusterFile, readToken } from '../cluster/cluster-file.js';
import type { ClusterStatus } from '../cluster/orchestrator-rpc.js';
import { nodeName } from '../core/types.js';
import { OperatingError, UsageError } from '../errors.js';
import type { ReplicaStatus } from '../node/events.js';
import { type ControlClient, connectControl } from '../transport/control-client.js';
import { type FaultRules, isIsolated } from '../transport/faults.js';
import type { CheckDriver } from './driver.js';
import { BY_ADMIN_API } from './nemesis.js';

const CONNECT_MS = 2000;
const ASK_MS = 2000;
/** How long a rule set lasts unless renewed; renewed every RENEW_MS while this driver lives. */
const RULE_TTL_MS = 10_000;
const RENEW_MS = 1000;
/** A freeze outlives any scheduled pause (2-5 s) but thaws by itself soon after a driver that died. */
const FREEZE_TTL_MS = 15_000;
/** How long a crashed replica's supervisor may take to bring it back before restart gives up. */
const RESTART_WAIT_MS = 30_000;
const POLL_MS = 200;

export class AdminDriver implements CheckDriver {
  readonly faultMeans = BY_ADMIN_API;
  private rules: FaultRules = {};
  /** Rule versions start at the wall clock's milliseconds, so a later driver's rules supersede an earlier one's. */
  private version = Date.now();
  private readonly frozen = new Set<number>();
  private readonly admins = new Map<number, Promise<ControlClient>>();
  private renewal: NodeJS.Timeout | null = null;

  private constructor(
    private readonly file: ClusterFile,
    private readonly adminSecret: string,
    private readonly clientSecret: string,
    private readonly log: (line: string) => void,
    /** wss:// when the cluster file has a tls section; every connection checks the node's certificate. */
    private readonly tls: ReturnType<typeof clientTlsOf>,
  ) {}

  static open(path: string, log: (line: string) => void): AdminDriver {
    const file = readClusterFile(path);
    const adminFile = file.adminTokenFile ?? file.tokenFile;
    if (adminFile === undefined)
      throw new UsageError(
        `the cluster file ${path} names no admin token (tokens.admin, or tokenFile for one shared secret); faults need it`,
      );
    const admin = readToken(adminFile);
    const client = file.clientTokenFile === undefined ? admin : readToken(file.clientTokenFile);
    return new AdminDriver(file, admin, client, log, clientTlsOf(file));
  }

  get clusterFile(): ClusterFile {
    return this.file;
  }

  private address(node: number): Address & { tls?: NonNullable<ReturnType<typeof clientTlsOf>> & { node: number } } {
    const a = this.file.members.get(node);
    if (a === undefined) throw new OperatingError(`${nodeName(node)} is not in the cluster file`);
    return this.tls === undefined ? a : { ...a, tls: { ...this.tls, node } };
  }

  /** The clients' connections use the client token when the file names one: the check's workload is a client. */
  replica(node: number): Promise<ControlClient> {
    const a = this.address(node);
    return connectControl({ ...a, secret: this.clientSecret, timeoutMs: CONNECT_MS, name: nodeName(node) });
  }

  /** A connection with the admin token, for what clients may not ask (a membership change's reconfigure). */
  adminReplica(node: number): Promise<ControlClient> {
    const a = this.address(node);
    return connectControl({ ...a, secret: this.adminSecret, timeoutMs: CONNECT_MS, name: nodeName(node) });
  }

  /** One admin connection per member, dialled again once it closes (its replica crashed, say). */
  private admin(node: number): Promise<ControlClient> {
    const cached = this.admins.get(node);
    if (cached !== undefined) return cached;
    const a = this.address(node);
    const conn = connectControl({ ...a, secret: this.adminSecret, timeoutMs: CONNECT_MS, name: nodeName(node) });
    this.admins.set(node, conn);
    conn.then(
      (c) => c.onClose(() => this.admins.delete(node)),
      () => this.admins.delete(node),
    );
    return conn;
  }

  private async ask(node: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const c = await this.admin(node);
    return (await c.request(body, ASK_MS)) as Record<string, unknown>;
  }

  async status(): Promise<ClusterStatus> {
    const rows = await Promise.all(
      [...this.file.members].map(async ([id, a]) => {
        const s = await this.ask(id, { op: 'status' }).then(
          (r) => r.status as ReplicaStatus,
          () => null,
        );
        return {
          id,
          port: a.port,
          pid: s?.pid ?? null,
          up: s !== null,
          isolated: isIsolated(this.rules, id),
          status: s,
          paused: this.frozen.has(id),
        };
      }),
    );
    return {
      protocol: this.file.protocol,
      clusterSize: this.file.bootstrapSize,
      orchestratorPid: 0,
      faults: {
        ...(this.rules.partition !== undefined ? { partition: this.rules.partition } : {}),
        ...(this.rules.delayMs !== undefined ? { delayMs: this.rules.delayMs } : {}),
        ...(this.rules.dropRate !== undefined ? { dropRate: this.rules.dropRate } : {}),
      },
      replicas: rows,
    };
  }

  async kill(node: number): Promise<void> {
    await this.ask(node, { op: 'crash' });
  }

  async restart(node: number): Promise<void> {
    await this.waitUp([node]);
  }

  async killAll(): Promise<number[]> {
    const ids = [...this.file.members.keys()];
    await Promise.all(ids.map((id) => this.kill(id).catch(() => undefined)));
    return ids;
  }

  async restartAll(): Promise<number[]> {
    const ids = [...this.file.members.keys()];
    await this.waitUp(ids);
    return ids;
  }

  /** A supervisor brings a crashed replica back; this only waits (bounded) until each answers again. */
  private async waitUp(ids: readonly number[]): Promise<void> {
    const deadline = Date.now() + RESTART_WAIT_MS;
    let missing = [...ids];
    while (missing.length > 0) {
      const answered = await Promise.all(
        missing.map((id) =>
          this.ask(id, { op: 'status' }).then(
            () => true,
            () => false,
          ),
        ),
      );
      missing = missing.filter((_, i) => !answered[i]);
      if (missing.length === 0) break;
      if (Date.now() > deadline)
        throw new OperatingError(
          `${missing.map((id) => nodeName(id)).join(', ')} did not come back within ${RESTART_WAIT_MS / 1000}s; is each replica run by a supervisor that restarts it?`,
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    // A replica back from a crash forgot every rule: it gets the ones in force at once rather than at the next renewal.
    if (!isEmpty(this.rules)) await this.pushRules();
  }

  async pause(node: number): Promise<void> {
    await this.ask(node, { op: 'freeze', ttlMs: FREEZE_TTL_MS });
    this.frozen.add(node);
  }

  async resume(node: number): Promise<void> {
    await this.ask(node, { op: 'thaw' });
    this.frozen.delete(node);
  }

  async resumeAll(): Promise<number[]> {
    const ids = [...this.frozen];
    await Promise.all(ids.map((id) => this.resume(id).catch(() => undefined)));
    return ids;
  }

  partition(groups: number[][]): Promise<void> {
    return this.setRules({ ...this.rules, partition: groups });
  }

  isolate(node: number): Promise<void> {
    const rest = [...this.file.members.keys()].filter((id) => id !== node);
    return this.partition([[node], rest]);
  }

  heal(): Promise<void> {
    const { partition: _gone, cuts: _cuts, ...rest } = this.rules;
    return this.setRules(rest);
  }

  net(body: { delayMs?: { min: number; max: number } | null; dropRate?: number }): Promise<void> {
    const next: { -readonly [K in keyof FaultRules]: FaultRules[K] } = { ...this.rules };
    if (body.delayMs === null) delete next.delayMs;
    else if (body.delayMs !== undefined) next.delayMs = body.delayMs;
    if (body.dropRate !== undefined) {
      if (body.dropRate === 0) delete next.dropRate;
      else next.dropRate = body.dropRate;
    }
    return this.setRules(next);
  }

  private async setRules(rules: FaultRules): Promise<void> {
    this.rules = rules;
    await this.pushRules();
    if (isEmpty(rules) && this.renewal !== null) {
      clearInterval(this.renewal);
      this.renewal = null;
    } else if (!isEmpty(rules) && this.renewal === null) {
      this.renewal = setInterval(() => void this.pushRules().catch(() => undefined), RENEW_MS);
      this.renewal.unref();
    }
  }

  /**
   * Sends the rule set to every member, as a new version with a fresh TTL.
   * Members that do not answer (crashed, frozen) are skipped: each replica
   * filters what it sends and what it receives, so the others keep the cut
   * alone, and the next renewal reaches it once it is back.
   */
  private async pushRules(): Promise<void> {
    const version = ++this.version;
    const body = { op: 'set-rules', version, ttlMs: RULE_TTL_MS, rules: this.rules };
    const results = await Promise.all(
      [...this.file.members.keys()].map((id) =>
        this.ask(id, body).then(
          () => null,
          (err: Error) => `${nodeName(id)}: ${err.message}`,
        ),
      ),
    );
    const failed = results.filter((r) => r !== null);
    if (failed.length === this.file.members.size)
      throw new OperatingError(`no member took the fault rules: ${failed.join('; ')}`);
    if (failed.length > 0) this.log(`  fault rules not taken by ${failed.join('; ')} (resent every ${RENEW_MS} ms)`);
  }

  addLearner(): Promise<{ node: number; port: number }> {
    return Promise.reject(noMembership());
  }

  removeReplica(): Promise<void> {
    return Promise.reject(noMembership());
  }

  markVoter(): Promise<void> {
    return Promise.reject(noMembership());
  }

  close(): void {
    if (this.renewal !== null) clearInterval(this.renewal);
    this.renewal = null;
    for (const conn of this.admins.values())
      void conn.then(
        (c) => c.close(),
        () => undefined,
      );
    this.admins.clear();
  }
}

function noMembership(): OperatingError {
  return new OperatingError(
    'the membership nemesis starts and stops replicas, which needs an orchestrator; with --cluster, add and remove replicas with `paxos add|remove --cluster`',
  );
}

function isEmpty(rules: FaultRules): boolean {
  return Object.keys(rules).length === 0;
}
