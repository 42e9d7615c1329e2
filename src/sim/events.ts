/**
 * What the parts of one simulated schedule share: the events in its queue,
 * its replicas, and the world each part sees (its clock, its queue, its
 * failure trace and its checkers). The world (`world.ts`) runs the event loop
 * and wires the parts; the replicas' lives (`replicas.ts`), the network
 * (`network.ts`), chaos (`chaos.ts`), the administrator (`administrator.ts`),
 * the clients (`clients.ts`) and the storage faults (`disks.ts`) each draw
 * from their own random stream, handed to them by the world, so a seed
 * replays the same schedule draw for draw.
 */
import type { Command, NodeId } from '../core/types.js';
import type { PeerMessage, Replica } from '../node/replica.js';
import type { ProtocolAdapter } from './adapter.js';
import type { ClientOp } from './clients.js';
import type { InvariantChecker } from './invariants.js';
import type { SimOptions } from './options.js';
import type { FaultProfile } from './profile.js';
import type { SwarmSettings } from './swarm.js';
import type { SimTracer } from './tracer.js';
import type { Incarnation, SimDisk, SimLinks } from './twins.js';

export type SimEvent =
  | { readonly kind: 'call'; readonly fn: () => void }
  /** `traceId` names the message's send in the trace; 0 when nothing is recorded. */
  | { readonly kind: 'deliver'; readonly message: PeerMessage; readonly traceId: number }
  /** A client wakes up; with `op` it is that operation's attempt deadline. */
  | { readonly kind: 'client'; readonly client: number; readonly op?: ClientOp; readonly attempt?: number }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'settle' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'admin' };

export interface SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  replica: Replica | null;
  life: Incarnation;
  links: SimLinks | null;
  incarnations: number;
  /** Removed from the configuration and stopped for good, as `paxos remove` does (its disk counts as gone). */
  retired: boolean;
  /** Its damaged directory was set aside and it started again on a fresh one, recovering (`paxos recover`). */
  lostDisk?: boolean;
}

/** The world as its parts see it. */
export interface World<M extends PeerMessage> {
  readonly opts: SimOptions;
  /** The seed's drawn settings (swarm testing), or null for the classic schedules. */
  readonly swarm: SwarmSettings | null;
  /** Simulated time, in ms. */
  readonly now: number;
  /** The fault phase is over: the network healed and the liveness clock runs. */
  readonly settled: boolean;
  readonly settleAtMs: number;
  /** The fault settings in force (the settle calms the network). */
  readonly profile: FaultProfile;
  readonly nodes: readonly SimNode[];
  readonly checker: InvariantChecker<M>;
  readonly adapter: ProtocolAdapter<M>;
  readonly tracer: SimTracer | null;
  /** Multi, without fixed proposers: an administrator changes the configuration. */
  readonly membershipChanges: boolean;
  schedule(delayMs: number, ev: SimEvent): void;
  /** A line of the failure trace. */
  note(line: string): void;
  /** A line the failure trace builds anyway, also narrated in the recorded trace when there is one. */
  noteAndTrace(line: string): void;
  /** A new replica with an empty disk and the next id. */
  addNode(): SimNode;
  crash(node: SimNode, where?: string): void;
  /**
   * Multi: the commands the chosen log applies (by value id, at which slot),
   * replayed by the simulator's own session rules as far as the log is
   * chosen without a gap; null for Basic Paxos.
   */
  appliedCommands(): ReadonlyMap<string, number> | null;
  /** The voters of the latest configuration any replica has entered. */
  latestVoters(): NodeId[];
  /** The administrator, as the Ready watcher sees it: a change it sent under a reused identity is refused by design (swarm-shapes.ts). */
  readonly admin: { reusedIdentity(id: string): boolean; afterRefusedChange(node: NodeId): void };
  /** The time every client gets after the heal. */
  livenessBoundMs(): number;
  /** How long this life of a replica has been paused in all (pauses.ts), the pause under way included. */
  pausedMs(life: Incarnation): number;
  /** A start found the replica's data directory damaged (disk-faults.ts): it stays down, and refuses connections. */
  diskOut(node: NodeId): boolean;
  /** A storage fault damaged the replica's data directory (found at its next start, or not yet). */
  diskDamaged(node: NodeId): boolean;
  /** Whether the replica was started again to recover from its disk's latest damage: it comes back by re-admission, not replacement. */
  diskRecovery(node: NodeId): 'none' | 'recovering' | 'readmitted';
}

export function describeCommand(c: Command): string {
  if (c.op === 'config') return `change epoch ${c.fromEpoch} to voters ${c.voters.join(',')}`;
  if (c.op === 'register') return 'register a session';
  return c.op === 'set' ? `set ${c.key}=${c.value}` : `get ${c.key}`;
}
