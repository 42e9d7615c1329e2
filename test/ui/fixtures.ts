/**
 * Recorded-looking event streams for the dashboard tests: what a five-replica
 * Multi-Paxos cluster and the 000 article's three-replica Basic-Paxos run
 * would publish. Numbers are fixed so frames are reproducible.
 */
import { Ballot } from '../../src/core/ballot.js';
import type { NodeView, Protocol } from '../../src/core/types.js';
import type { BasicKeyState, ClusterEvent, ReplicaStatus } from '../../src/node/events.js';
import { applyEvent, type DashboardState, initialDashboard } from '../../src/ui/model.js';

const T0 = 1_700_000_000_000;

export function status(opts: {
  node: number;
  protocol?: Protocol;
  role: NodeView['role'];
  leader?: number | null;
  promised: Ballot;
  lastAccepted?: NodeView['lastAccepted'];
  chosenCount?: number;
  messagesIn?: number;
  messagesOut?: number;
  uptimeMs?: number;
  keys?: BasicKeyState[];
  member?: NodeView['member'];
}): ClusterEvent {
  const s: ReplicaStatus = {
    node: opts.node,
    pid: 4000 + opts.node,
    port: 7000 + opts.node,
    view: {
      id: opts.node,
      protocol: opts.protocol ?? 'multi',
      role: opts.role,
      leader: opts.leader ?? null,
      promised: opts.promised,
      lastAccepted: opts.lastAccepted ?? null,
      chosenCount: opts.chosenCount ?? 0,
      ...(opts.member !== undefined ? { member: opts.member } : {}),
    },
    messagesIn: opts.messagesIn ?? 0,
    messagesOut: opts.messagesOut ?? 0,
    fsyncs: 0,
    rssBytes: 50_000_000,
    uptimeMs: opts.uptimeMs ?? 1000,
    ...(opts.keys ? { keys: opts.keys } : {}),
  };
  return { type: 'status', status: s };
}

/**
 * Five replicas, node-3 leading at 4.3, x=7 chosen in slot 17; then node-2
 * dies and node-5 is cut off by a partition.
 */
export function multiStream(): ClusterEvent[] {
  const leader = Ballot(4, 3);
  const accepted = { instance: '17', ballot: leader, value: 'x=7' };
  const events: ClusterEvent[] = [{ type: 'cluster', clusterSize: 5, protocol: 'multi', atMs: T0 }];
  for (let id = 1; id <= 5; id++) events.push({ type: 'replica-up', node: id, pid: 4000 + id, atMs: T0 });
  events.push({ type: 'log', node: 3, line: 'started as node-3 of 5 (multi paxos), recovered 0 records', atMs: T0 });
  events.push({ type: 'core', node: 3, event: { type: 'phase1', ballot: leader }, atMs: T0 + 5 });
  events.push({ type: 'core', node: 3, event: { type: 'leader', ballot: leader }, atMs: T0 + 10 });
  events.push({ type: 'core', node: 1, event: { type: 'preempted', ballot: Ballot(4, 1), by: leader }, atMs: T0 + 10 });
  events.push({ type: 'core', node: 1, event: { type: 'follower', leader: 3, ballot: leader }, atMs: T0 + 10 });
  for (const uptimeMs of [1000, 2000]) {
    const n = uptimeMs / 1000;
    for (let id = 1; id <= 5; id++) {
      events.push(
        status({
          node: id,
          role: id === 3 ? 'leader' : 'follower',
          leader: 3,
          promised: leader,
          lastAccepted: accepted,
          chosenCount: 17,
          messagesIn: 100 * n,
          messagesOut: (id === 3 ? 400 : 100) * n,
          uptimeMs,
        }),
      );
    }
  }
  events.push({
    type: 'flow',
    node: 3,
    droppedLines: 0,
    lines: [2, 1].map((to) => ({ atMs: T0 + 20, type: 'accept', text: `node-3 → node-${to} accept #17 (4.3, x=7)` })),
  });
  events.push({
    type: 'flow',
    node: 1,
    droppedLines: 0,
    lines: [{ atMs: T0 + 21, type: 'accepted', text: 'node-1 → node-3 accepted #17 (4.3)' }],
  });
  events.push({ type: 'chosen', node: 3, instance: '16', value: 'y=1', ballot: leader, atMs: T0 + 19 });
  events.push({ type: 'chosen', node: 3, instance: '17', value: 'x=7', ballot: leader, atMs: T0 + 22 });
  events.push({ type: 'chosen', node: 1, instance: '17', value: 'x=7', ballot: leader, atMs: T0 + 23 });
  events.push({ type: 'replica-down', node: 2, reason: 'killed (SIGKILL)', atMs: T0 + 30 });
  events.push({
    type: 'faults',
    partition: [[1, 2, 3, 4], [5]],
    delayMs: { min: 10, max: 200 },
    dropRate: 0.05,
    atMs: T0 + 40,
  });
  return events;
}

/**
 * The 000 article with acceptors A, B, C as node-1..3: A and B have promised
 * 2000 (ballot 1.3), C has accepted (2000, 7), and 7 is known chosen.
 */
export function basicStream(): ClusterEvent[] {
  const b11 = Ballot(1, 1);
  const b13 = Ballot(1, 3);
  const key = (promised: Ballot, accepted: { ballot: Ballot; value: string } | null): BasicKeyState[] => [
    { key: 'x', promised, accepted, chosen: '7' },
  ];
  return [
    { type: 'cluster', clusterSize: 3, protocol: 'basic', atMs: T0 },
    status({ node: 1, protocol: 'basic', role: 'proposer', promised: b13, keys: key(b13, null) }),
    status({ node: 2, protocol: 'basic', role: 'acceptor', promised: b13, keys: key(b13, null) }),
    status({
      node: 3,
      protocol: 'basic',
      role: 'proposer',
      promised: b13,
      lastAccepted: { instance: 'x', ballot: b13, value: '7' },
      keys: key(b13, { ballot: b13, value: '7' }),
    }),
    { type: 'core', node: 1, event: { type: 'preempted', ballot: b11, by: b13, instance: 'x' }, atMs: T0 + 1 },
    {
      type: 'flow',
      node: 3,
      droppedLines: 0,
      lines: [{ atMs: T0 + 2, type: 'accept', text: 'node-3 → node-1 accept x (1.3, 7)' }],
    },
    { type: 'chosen', node: 3, instance: 'x', value: '7', ballot: b13, atMs: T0 + 3 },
  ];
}

export function fold(
  events: readonly ClusterEvent[],
  opts: { clusterSize: number; protocol: Protocol },
): DashboardState {
  return events.reduce(applyEvent, initialDashboard(opts));
}

/** Removes ANSI escape sequences, so frames can be measured in columns. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b\][^\x07]*\x07/g, '');
}

/** Rates and counters vary with timing in real runs; tests compare shapes, not those numbers. */
export function normalise(frame: string): string {
  return stripAnsi(frame).replace(/\d+(\.\d+)?[kM]? msg\/s/g, 'N msg/s');
}
