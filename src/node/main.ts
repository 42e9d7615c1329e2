/**
 * The replica process: `node dist/src/node/main.js --id 2 --size 5 ...`,
 * started by the orchestrator. It recovers its state from its data
 * directory, listens on loopback, registers with the orchestrator (the 003
 * article's registry) to learn where its peers are, and serves until it is
 * told to stop or its orchestrator is gone.
 */

import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_NODE_ID } from '../core/membership.js';
import { must } from '../core/must.js';
import type { Protocol } from '../core/types.js';
import { messageValidator } from '../core/validate.js';
import { type FileStorage, openFileStorage, PREALLOCATE_MAX_BYTES } from '../storage/file-storage.js';
import {
  advanceMark,
  checkIdentity,
  IDENTITY_REFUSED_EXIT,
  type Identity,
  recordStart,
  setAsideLostData,
  watchDataDir,
} from '../storage/identity.js';
import { acquireDirLock, type DirLock } from '../storage/lock.js';
import { type DurableLog, durableLogOf } from '../storage/storage.js';
import { tracedInstance } from '../trace/format.js';
import { PartWriter, ReplicaTraceLog } from '../trace/live.js';
import { messageFields } from '../trace/messages.js';
import { describeWrite } from '../trace/records.js';
import type { FaultRules } from '../transport/faults.js';
import type { ControlConnection } from '../transport/server.js';
import { nodeUri, type ServerTls } from '../transport/tls.js';
import type { PeerAddress, TransportTrace, WsTransport, WsTransportOptions } from '../transport/ws-transport.js';
import { connectControl, createWsTransport } from '../transport/ws-transport.js';
import { AdminFaults, routeAdmin } from './admin.js';
import { systemClock } from './clock.js';
import { handleControl } from './control.js';
import { describeState } from './describe-state.js';
import { inputLogBeside } from './input-log.js';
import { LatencySampler, monotonicUs } from './latency-sampler.js';
import { MAX_FRAME_BYTES } from './limits.js';
import { type PeerLinks, type PeerMessage, Replica, type ReplicaOptions, type ReplicaProbe } from './replica.js';
import { HoldingLinks, StepClock, type StepControl } from './step.js';
import { StepJournal } from './step-journal.js';
import { type CoreTuning, parseCoreTuning } from './tuning.js';

export interface ReplicaArgs {
  readonly id: number;
  readonly clusterSize: number;
  readonly protocol: Protocol;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** The orchestrator's control socket, where this replica registers (empty for `paxos replica`). */
  readonly orchestratorSocket: string;
  readonly orchestratorPid: number;
  readonly secret: string;
  readonly tickMs: number;
  /** Slots between snapshots (Multi) or learned keys between compactions (Basic). */
  readonly snapshotEverySlots: number | undefined;
  readonly clusterId: string;
  /** The cluster's manifest says this replica has started before: its data directory must hold its data. */
  readonly expectData: boolean;
  /** `paxos recover`: the data directory was lost or damaged; set it aside and start recovering on a fresh one. */
  readonly recoverLostDisk: boolean;
  /** A replica that joined (paxos add): the voters it asks for catch-up until its own log names them. */
  readonly contacts: readonly number[] | undefined;
  /** `paxos up --trace`: the file this replica appends its part of the run's trace to. */
  readonly traceFile: string | undefined;
  /** `paxos up --step`: messages are held until delivered by hand, and ticks come only when asked for. */
  readonly step: boolean;
  /** A live scenario's core settings (`--core-tuning`), so its replicas run as the scripted ones do. */
  readonly tuning: CoreTuning | undefined;
  /** `paxos replica` (src/cli/commands/replica.ts): no orchestrator; the peer table comes from its flags or cluster file at every start. */
  readonly standalone?: StandaloneArgs;
}

/** What a replica on its own host knows that the orchestrator would otherwise tell it. */
export interface StandaloneArgs {
  /** Separate tokens for administrators and clients (`--admin-token-file`, `--client-token-file`); absent, the secret serves all. */
  readonly adminSecret?: string;
  readonly clientSecret?: string;
  readonly peers: Map<number, PeerAddress>;
  readonly advertise: PeerAddress;
  readonly allowedHosts: readonly string[];
  /** wss:// with mutual TLS (`--cert-file`, `--key-file`, `--trusted-ca-file`; transport/tls.ts); absent, ws://. */
  readonly tls?: ServerTls;
}

function parse(): ReplicaArgs {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      size: { type: 'string' },
      protocol: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      'orchestrator-socket': { type: 'string' },
      'orchestrator-pid': { type: 'string' },
      'tick-ms': { type: 'string' },
      'snapshot-every': { type: 'string' },
      'cluster-id': { type: 'string' },
      'expect-data': { type: 'boolean' },
      'recover-lost-disk': { type: 'boolean' },
      contacts: { type: 'string' },
      'trace-file': { type: 'string' },
      step: { type: 'boolean' },
      'core-tuning': { type: 'string' },
    },
  });
  const secret = process.env.PAXOS_SECRET;
  if (secret === undefined || secret === '')
    throw new Error('PAXOS_SECRET is not set; replicas are started by `paxos up`');
  if (values['cluster-id'] === undefined || values['cluster-id'] === '')
    throw new Error('--cluster-id is not set; replicas are started by `paxos up`');
  return {
    id: Number(values.id),
    clusterSize: Number(values.size),
    protocol: values.protocol === 'basic' ? 'basic' : 'multi',
    host: values.host ?? '127.0.0.1',
    port: Number(values.port),
    dataDir: String(values.data),
    orchestratorSocket: values['orchestrator-socket'] ?? '',
    orchestratorPid: Number(values['orchestrator-pid']),
    secret,
    tickMs: Number(values['tick-ms'] ?? 10),
    snapshotEverySlots: values['snapshot-every'] === undefined ? undefined : Number(values['snapshot-every']),
    clusterId: values['cluster-id'],
    expectData: values['expect-data'] === true,
    recoverLostDisk: values['recover-lost-disk'] === true,
    contacts: values.contacts === undefined ? undefined : parseContacts(values.contacts),
    traceFile: values['trace-file'] === '' ? undefined : values['trace-file'],
    step: values.step === true,
    tuning: values['core-tuning'] === undefined ? undefined : parseCoreTuning(values['core-tuning']),
  };
}

/** `--contacts 1,2,3`: the replica ids a joining learner asks for catch-up. */
function parseContacts(text: string): number[] {
  const ids = text
    .split(',')
    .filter((x) => x !== '')
    .map(Number);
  if (ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 1 && id <= MAX_NODE_ID)) {
    throw new Error(`--contacts must be replica ids from 1 to ${MAX_NODE_ID} separated by commas, got "${text}"`);
  }
  return ids;
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/**
 * Bugs `paxos check` plants on purpose to prove it can catch them on real
 * processes. Only the environment variable PAXOS_PLANT turns one on; no
 * command sets it except `paxos check --plant`, and a replica running one
 * says so in its log.
 */
const REAL_PLANTS = ['ack-before-fsync', 'stale-reads', 'quorum-minus-one', 'restart-numbering', 'amnesia'] as const;
type RealPlant = (typeof REAL_PLANTS)[number];

function plantFromEnv(): RealPlant | null {
  const name = process.env.PAXOS_PLANT;
  if (name === undefined || name === '') return null;
  if (!(REAL_PLANTS as readonly string[]).includes(name))
    throw new Error(`PAXOS_PLANT must be one of ${REAL_PLANTS.join(', ')} (got "${name}")`);
  return name as RealPlant;
}

/**
 * The planted bug "acknowledge before fsync": every append and checkpoint
 * reports itself durable at once, and every write (lazy ones too) reaches
 * the log 200 ms later, in the order made, as a disk cache that lies would.
 * A SIGKILL cannot lose what the kernel already holds, so without the delay
 * no process crash could show the bug; with it, a crash loses the last
 * 200 ms of acknowledged promises and accepts, as a power cut loses a lying
 * cache. (Delaying every write alike keeps the log a consistent earlier
 * state: had the lazy records of which slots were chosen landed before the
 * votes they follow, the restarted replica would still know those slots.)
 */
const LYING_CACHE_MS = 200;
/** How often a running replica checks that its data directory is still its own. */
const DATA_DIR_CHECK_MS = 500;

function ackBeforeFsync(log: DurableLog<unknown>): DurableLog<unknown> {
  // Timers of one delay fire in the order they were set, so the writes land in the order they were made.
  const later = (write: () => void) => setTimeout(write, LYING_CACHE_MS);
  return {
    ...log,
    append: (records, done) => {
      later(() => log.append(records, () => undefined));
      done(null);
    },
    appendLazy: (records) => later(() => log.appendLazy(records)),
    checkpoint: (c, done) => {
      later(() => log.checkpoint(c, () => undefined));
      done(null);
    },
  };
}

/** This replica's id and protocol, once its arguments parsed: the refusal sentence names them. */
let whoAmI: { readonly id: number; readonly protocol: Protocol } | null = null;

/** What the transport's and the admin API's callbacks reach: set once they exist, read only when a callback runs. */
interface LiveParts {
  transport: WsTransport<PeerMessage> | null;
  replica: Replica | null;
  step: StepControl | undefined;
  applyFaults: (rules: FaultRules) => void;
}

export async function main(given?: ReplicaArgs): Promise<void> {
  const args = given ?? parse();
  whoAmI = { id: args.id, protocol: args.protocol };
  const plant = plantFromEnv();
  announcePlants(args, plant);
  const { storage, identity } = await openReplicaStorage(args, plant === 'amnesia');
  // A directory deleted, replaced or put back from a copy while the replica runs: it stops rather than vote on.
  watchDataDir(
    args.dataDir,
    identity,
    DATA_DIR_CHECK_MS,
    (sentence) => {
      log(sentence);
      process.stderr.write(`${sentence}\n`);
      process.exit(IDENTITY_REFUSED_EXIT);
    },
    () => storage.stillInPlace(),
  );
  const journal = args.step ? new StepJournal(storage.recovered.length) : null;
  const { trace, inputs } = startTracing(args, identity, storage);
  const validate = messageValidator(args.protocol, args.clusterSize) as (x: unknown) => PeerMessage | null;
  const live: LiveParts = { transport: null, replica: null, step: undefined, applyFaults: () => undefined };
  const latency = new LatencySampler(args.id, monotonicUs);
  const admin = adminFaultsOf(args, live);
  const transport = await createWsTransport<PeerMessage>(
    transportOptions({ args, identity, trace, validate, latency, admin, live }),
  );
  live.transport = transport;
  live.applyFaults = (rules) => transport.setFaults(rules);
  // Step mode wraps the links and the tick timer only: storage, the control API and the links themselves are the real ones.
  const links = args.step ? new HoldingLinks(transport, args.id, args.protocol, log) : transport;
  const stepClock = args.step ? new StepClock() : undefined;
  if (args.step) log('step mode: every message to a peer is held until delivered, and time moves only on `paxos tick`');
  const replica = new Replica(
    replicaOptions({
      args,
      plant,
      identity,
      storage,
      journal,
      trace,
      inputs,
      links,
      stepClock,
      latency,
      port: transport.port,
    }),
  );
  live.replica = replica;
  if (links instanceof HoldingLinks && stepClock !== undefined && journal !== null) {
    links.onHeld = (id, m) => journal.held(id, m);
    live.step = {
      links,
      clock: stepClock,
      settled: () => replica.settled(),
      journal,
      messagesIn: () => replica.status().messagesIn,
      validate,
      state: () => describeState(`node-${args.id}`, replica.inspectCore()),
    };
  }
  replica.start();
  if (args.standalone === undefined) {
    await register(args, transport.port);
    watchOrchestrator(args.orchestratorPid);
  } else announceStandalone(args, args.standalone, transport.port);
  const stop = async () => {
    replica.stop();
    await transport.close();
    await storage.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

function announcePlants(args: ReplicaArgs, plant: RealPlant | null): void {
  if (plant !== null)
    log(`PLANTED BUG ${plant}: this replica is deliberately wrong (PAXOS_PLANT), for paxos check to catch`);
  const scenarioBugs = Object.entries(args.tuning?.bugs ?? {})
    .filter(([, on]) => on)
    .map(([name]) => name);
  if (scenarioBugs.length > 0)
    log(`PLANTED BUG ${scenarioBugs.join(', ')}: this replica is deliberately wrong (a scenario's option plant)`);
}

/**
 * Start-up, in an order where a crash at any point leaves a directory the next start judges rightly (identity.ts).
 * The planted bug "amnesia" starts from whatever is left, as before issue 22's fix: no data where data is expected
 * is taken for a new replica, and the log need not reach the mark (file-storage.ts cuts damage off, too).
 */
async function openReplicaStorage(
  args: ReplicaArgs,
  amnesia: boolean,
): Promise<{ storage: FileStorage<unknown>; identity: Identity }> {
  // 0. the directory's lock, before anything is judged or written: a second process on this directory must not count
  //    as a start (a missing directory is reported by the identity check as missing);
  let lock = lockIfPresent(args.dataDir);
  //    (`paxos recover`: the lost data moves aside, under its lock, and a fresh directory says it is recovering;)
  if (args.recoverLostDisk) lock = setAsideUnderLock(args, lock);
  // 1. the identity and the high-water mark are read, and nothing is written, so a refused start changes nothing;
  const claim = checkIdentity({
    dataDir: args.dataDir,
    node: args.id,
    clusterId: args.clusterId,
    expectData: args.expectData && !amnesia,
  });
  // 2. the log is opened (created whole with its header only where no log ever was) and must reach the mark;
  let identity: Identity = claim.identity;
  // In step mode time moves only on ticks, so lazy records wait for the next write rather than for a timer.
  const storage = await openFileStorage<unknown>({
    dir: args.dataDir,
    log,
    ...(args.step ? { lazyFlushMs: null } : {}),
    owner: { clusterId: args.clusterId, node: args.id },
    mustReach: amnesia ? null : claim.mustReach,
    ...(amnesia ? { plantedAmnesia: true } : {}),
    mark: (reached) => advanceMark(args.dataDir, identity, reached),
    ...(lock !== null ? { lock } : {}),
    preallocateBytes: PREALLOCATE_MAX_BYTES,
  });
  // 3. one more incarnation and the mark at the log's reach, durably, before the replica takes any input: a replica
  //    that may have voted always has a mark its log must reach.
  identity = recordStart(args.dataDir, claim.identity, storage.reached);
  log(
    `node-${args.id} of cluster ${identity.clusterId}, incarnation ${identity.incarnation}, log reaches record ${storage.reached}`,
  );
  return { storage, identity };
}

/** `paxos up --trace`: this replica's part of the trace, and the core's inputs beside it for `paxos replay`. */
function startTracing(
  args: ReplicaArgs,
  identity: Identity,
  storage: FileStorage<unknown>,
): { trace: ReplicaTraceLog | null; inputs: ReturnType<typeof inputLogBeside> | null } {
  const trace =
    args.traceFile === undefined
      ? null
      : new ReplicaTraceLog(args.id, identity.incarnation, new PartWriter(args.traceFile, log));
  if (trace !== null) log(`tracing this replica's messages, writes and choices to ${args.traceFile}`);
  // Before the transport listens, so the start leads everything this incarnation records.
  trace?.started(storage.recovered.length > 0 || storage.recoveredSnapshot !== null);
  // Every way out but SIGKILL (a stop, a storage failure, an orchestrator gone) writes what is still buffered.
  if (trace !== null) process.once('exit', () => trace.close());
  const inputs =
    args.traceFile === undefined ? null : inputLogBeside(args.traceFile, args.id, identity.incarnation, log);
  return { trace, inputs };
}

/** A replica on its own host takes faults through its admin API (admin.ts); lab mode's come from the orchestrator. */
function adminFaultsOf(args: ReplicaArgs, live: LiveParts): AdminFaults | null {
  return args.standalone === undefined
    ? null
    : new AdminFaults({
        clock: systemClock,
        applyRules: (rules) => live.applyFaults(rules),
        setFrozen: (frozen) => live.replica?.setFrozen(frozen),
        exit: (code) => process.exit(code),
        log,
      });
}

function transportOptions(o: {
  args: ReplicaArgs;
  identity: Identity;
  trace: ReplicaTraceLog | null;
  validate: (x: unknown) => PeerMessage | null;
  latency: LatencySampler;
  admin: AdminFaults | null;
  live: LiveParts;
}): WsTransportOptions<PeerMessage> {
  const { args, identity, trace, live } = o;
  return {
    selfId: args.id,
    peers: args.standalone?.peers ?? new Map(),
    secret: args.secret,
    host: args.host,
    listenPort: args.port,
    clusterSize: args.clusterSize,
    clusterId: identity.clusterId,
    incarnation: identity.incarnation,
    ...(args.standalone?.adminSecret !== undefined ? { adminSecret: args.standalone.adminSecret } : {}),
    ...(args.standalone?.clientSecret !== undefined ? { clientSecret: args.standalone.clientSecret } : {}),
    ...(args.standalone !== undefined
      ? {
          advertised: args.standalone.advertise,
          allowedHosts: args.standalone.allowedHosts,
          checkHandshake: true,
          ...(args.standalone.tls !== undefined ? { tls: args.standalone.tls } : {}),
          probes: { ready: () => live.replica !== null && isReady(live.replica) },
        }
      : {}),
    maxFrameBytes: MAX_FRAME_BYTES,
    validate: o.validate,
    log,
    seed: randomInt(1, 2 ** 31),
    ...(trace !== null ? { trace: transportTrace(trace, args.protocol) } : {}),
    onControl: (conn) => serveControl(conn, o.latency, o.admin, live),
  };
}

/** One control connection: its requests go to the replica (through the admin API's roles on its own host). */
function serveControl(
  conn: ControlConnection,
  latency: LatencySampler,
  admin: AdminFaults | null,
  live: LiveParts,
): void {
  const cleanups: (() => void)[] = [];
  const control = (req: unknown) =>
    handleControl(
      {
        // Set right after the transport, in the same turn: no connection is served before.
        replica: must(live.replica, 'the replica exists before a control request is served'),
        setFaults: (rules) => transportOf(live).setFaults(rules),
        setPeers: (peers) => transportOf(live).setPeers(peers),
        push: (event) => conn.push(event),
        onClose: (cleanup) => cleanups.push(cleanup),
        latency,
        ...(live.step !== undefined ? { step: live.step } : {}),
      },
      req,
    );
  conn.onRequest((req) => (admin !== null ? routeAdmin(admin, conn.role, req, control) : control(req)));
  conn.onClose?.(() => {
    for (const c of cleanups) c();
  });
}

function transportOf(live: LiveParts): WsTransport<PeerMessage> {
  return must(live.transport, 'the transport exists before it serves a connection');
}

function replicaOptions(o: {
  args: ReplicaArgs;
  plant: RealPlant | null;
  identity: Identity;
  storage: FileStorage<unknown>;
  journal: StepJournal | null;
  trace: ReplicaTraceLog | null;
  inputs: ReturnType<typeof inputLogBeside> | null;
  links: PeerLinks;
  stepClock: StepClock | undefined;
  latency: LatencySampler;
  port: number;
}): ReplicaOptions {
  const { args, plant, identity, storage, journal, trace, inputs, stepClock } = o;
  return {
    id: args.id,
    clusterSize: args.clusterSize,
    protocol: args.protocol,
    transport: o.links,
    clock: systemClock,
    ...(stepClock !== undefined ? { tickClock: stepClock } : {}),
    storage: journalled(
      journal,
      plant === 'ack-before-fsync' ? ackBeforeFsync(durableLogOf(storage)) : durableLogOf(storage),
    ),
    core: {
      ...coreSettingsOf(args.tuning),
      ...(args.contacts !== undefined ? { contacts: args.contacts } : {}),
      ...(args.snapshotEverySlots !== undefined ? { snapshotEverySlots: args.snapshotEverySlots } : {}),
      ...(identity.recovering === true ? { recoverLostDisk: true } : {}),
      ...(plant === 'stale-reads' || plant === 'quorum-minus-one'
        ? { bugs: plant === 'stale-reads' ? { staleLocalReads: true } : { quorumMinusOne: true } }
        : {}),
    },
    randomSeed: args.tuning?.seedByNode === true ? args.id : randomInt(1, 2 ** 31),
    tickMs: args.tickMs,
    port: o.port,
    log,
    // 64 random bits: no earlier incarnation of any replica has used this session, so no identity repeats.
    session: plant === 'restart-numbering' ? `n${args.id}` : `n${args.id}-${randomBytes(8).toString('hex')}`,
    processInfo: () => {
      const cpu = process.cpuUsage();
      return { pid: process.pid, rssBytes: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system };
    },
    latency: o.latency,
    onFatal: () => process.exit(3),
    ...(trace !== null || journal !== null
      ? { probe: bothProbes(trace !== null ? releaseTrace(trace, args.protocol) : {}, journal?.probe() ?? {}) }
      : {}),
    ...(inputs !== null ? { inputs } : {}),
  };
}

function announceStandalone(args: ReplicaArgs, standalone: StandaloneArgs, port: number): void {
  log(
    `node-${args.id} listening on ${args.host}:${port}, advertised as ${standalone.advertise.host}:${standalone.advertise.port}; peers ${[
      ...standalone.peers,
    ]
      .filter(([id]) => id !== args.id)
      .map(([id, a]) => `node-${id}=${a.host}:${a.port}`)
      .join(', ')}; ${
      standalone.tls === undefined
        ? 'plain ws:// (no TLS)'
        : `wss:// with mutual TLS as ${nodeUri(standalone.tls.clusterId, args.id)}${standalone.tls.clientCertAuth ? ', client certificates required' : ''}`
    }`,
  );
}

/** The transport's trace hooks: messages in the format's words (the simulator's tracer writes the same fields). */
function transportTrace(trace: ReplicaTraceLog, protocol: Protocol): TransportTrace<PeerMessage> {
  return {
    sent: (m) => trace.sent(messageFields(protocol, m)),
    delivered: (id, m) => trace.delivered(id, m.to),
    dropped: (id, why) => trace.dropped(id, why),
  };
}

/** Durable writes and chosen values, recorded when a Ready is released: its records are on disk and its messages about to leave. */
function releaseTrace(trace: ReplicaTraceLog, protocol: Protocol): ReplicaProbe {
  return {
    onRelease: (ready) => {
      if (ready.persist.length > 0) trace.persisted(describeWrite(protocol, [...ready.persist, ...ready.persistLazy]));
      for (const c of ready.chosen) trace.chosen(tracedInstance(c), c.value, c.ballot);
    },
  };
}

/** Moves a lost data directory aside while holding its lock, then locks the fresh one in its place. */
function setAsideUnderLock(args: ReplicaArgs, lock: DirLock | null): DirLock | null {
  if (args.protocol === 'basic')
    throw new Error(
      `node-${args.id} cannot recover a lost disk in Basic Paxos: its acceptors are fixed, with no epoch to close what it forgot, so it stays down (the others decide while they are a majority)`,
    );
  const aside = setAsideLostData({ dataDir: args.dataDir, node: args.id, clusterId: args.clusterId }, new Date());
  lock?.release();
  log(
    aside === null
      ? `node-${args.id} recovers a lost disk on a fresh data directory`
      : `node-${args.id} recovers a lost disk: its old data is kept at ${aside}`,
  );
  return lockIfPresent(args.dataDir);
}

/** The tuning the core takes; the seed is the shell's. */
function coreSettingsOf(tuning: CoreTuning | undefined): Omit<CoreTuning, 'seedByNode'> {
  if (tuning === undefined) return {};
  const { seedByNode: _seed, ...core } = tuning;
  return core;
}

function journalled(journal: StepJournal | null, log: DurableLog<unknown>): DurableLog<unknown> {
  return journal === null ? log : journal.wrap(log);
}

/** Both probes' hooks, the first's before the second's. */
function bothProbes(a: ReplicaProbe, b: ReplicaProbe): ReplicaProbe {
  return {
    onReady: (core, ready) => {
      a.onReady?.(core, ready);
      b.onReady?.(core, ready);
    },
    onRelease: (ready) => {
      a.onRelease?.(ready);
      b.onRelease?.(ready);
    },
    onAnswer: (command, reply) => {
      a.onAnswer?.(command, reply);
      b.onAnswer?.(command, reply);
    },
  };
}

/** Tells the registry where this replica listens; it answers with the peer table and keeps it current. */
async function register(args: ReplicaArgs, port: number): Promise<void> {
  const registry = await connectControl({
    socketPath: args.orchestratorSocket,
    secret: args.secret,
    timeoutMs: 5000,
  });
  await registry.request({ op: 'register', node: args.id, port, pid: process.pid }, 5000);
  log(`registered with the orchestrator as node-${args.id} on port ${port}`);
}

/** A replica whose orchestrator died would be an orphan nobody can stop: it exits instead. */
function watchOrchestrator(pid: number): void {
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      log('the orchestrator is gone; exiting');
      process.exit(0);
    }
  }, 1000);
  timer.unref();
}

/** Ready for a supervisor's probe: Multi-Paxos knows a leader (a quorum is reachable); Basic Paxos has no leader and is ready once started. */
function isReady(replica: Replica): boolean {
  const view = replica.status().view as { leader?: number | null };
  return !('leader' in view) || (view.leader !== null && view.leader !== undefined);
}

/** The directory's lock, taken early when the directory exists (a missing one is reported by the identity check as missing). */
function lockIfPresent(dir: string): DirLock | null {
  return existsSync(dir) ? acquireDirLock(dir) : null;
}

/** Run as the replica process (`node dist/src/node/main.js`), not when `paxos replica` imports it. */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err: unknown) => {
    process.stderr.write(`${refusal(err)}\n`);
    process.exit(exitCodeOf(err));
  });
}

/**
 * The one sentence a replica that refuses its data says: a damaged log is
 * named with what the operator can do. In Multi-Paxos the replica can
 * recover (its data set aside, it learns the log and votes again once
 * re-admitted: core/multi/recovery.ts) or be replaced by a new member; a
 * Basic Paxos acceptor has no epochs to close, so it can only stay down.
 */
function refusal(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name !== 'StorageCorruptError' && err.name !== 'DataDamagedError') return err.message;
  const id = whoAmI?.id ?? '?';
  const replace =
    whoAmI?.protocol !== 'basic'
      ? `recover it with \`paxos recover node-${id}\` (its data is kept aside; it learns the log and votes again once re-admitted) or replace it with \`paxos replace node-${id}\` while the others run`
      : 'a Basic Paxos cluster cannot replace a replica, so leave it down (the others decide while they are a majority)';
  return `node-${id} does not start: ${err.message}; ${replace}, or start over with \`paxos up --fresh\``;
}

/** Distinct exit codes let the orchestrator tell a refused data directory from a crash, and report its sentence as it is. */
export function exitCodeOf(err: unknown): number {
  if (!(err instanceof Error)) return 1;
  // A damaged log is a refused data directory like a missing one: the orchestrator reports its sentence as it is.
  if (err.name === 'StorageCorruptError' || err.name === 'DataDamagedError' || err.name === 'IdentityError')
    return IDENTITY_REFUSED_EXIT;
  return 1;
}
