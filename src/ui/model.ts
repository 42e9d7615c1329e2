/**
 * The dashboard's model: a pure fold of the cluster's event stream into what
 * the screen shows. It decides nothing about the protocol; it only remembers
 * the latest facts each replica reported, and every list it keeps is bounded
 * so a cluster running for days at thousands of messages a second cannot
 * grow it.
 */
import { type Ballot, compareBallots } from '../core/ballot.js';
import { describeCoreEvent } from '../core/describe.js';
import { MAX_NODE_ID, type Membership } from '../core/membership.js';
import type { CoreEvent, NodeId, NodeView, Protocol } from '../core/types.js';
import type { BasicKeyState, ClusterEvent, FlowLine, ReplicaStatus } from '../node/events.js';
import { showLine } from '../text/escape.js';
import { type FaultRules, isIsolated } from '../transport/faults.js';

export const FLOW_LIMIT = 50;
export const CHOSEN_LIMIT = 200;
export const LOG_LIMIT = 200;
/** Each replica reports at most 32 recently touched keys; twice that covers a few replicas disagreeing on which. */
export const KEY_LIMIT = 64;

export type Liveness = 'unknown' | 'up' | 'down';

export interface LogLine {
  readonly atMs: number;
  readonly text: string;
}

/** The counters of the previous status, kept only to turn the next one into a rate. */
interface RateSample {
  readonly uptimeMs: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
}

export interface ReplicaRow {
  readonly id: NodeId;
  readonly liveness: Liveness;
  /** Alone in its partition group, or in none: it can reach no one. */
  readonly isolated: boolean;
  readonly pid: number | null;
  readonly downReason: string | null;
  readonly role: NodeView['role'] | null;
  /** Multi: whether it votes in its configuration, only learns (joining), or was removed; null when unknown. */
  readonly member: NodeView['member'] | null;
  /** Whom this replica believes to be the leader. */
  readonly leader: NodeId | null;
  readonly promised: Ballot | null;
  readonly lastAccepted: NodeView['lastAccepted'];
  readonly chosenCount: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Messages in plus out per second between its last two statuses. */
  readonly messageRatePerSec: number;
  /** Messages out per second; summed over replicas it counts every message once. */
  readonly sendRatePerSec: number;
  readonly sample: RateSample | null;
  /** Oldest first, at most LOG_LIMIT lines. */
  readonly log: readonly LogLine[];
}

export interface ChosenEntry {
  /** Multi: the slot number as a string; basic: the key. */
  readonly instance: string;
  readonly value: string;
  readonly ballot: Ballot | null;
  readonly atMs: number;
}

export interface FlowEntry {
  readonly node: NodeId;
  readonly atMs: number;
  readonly type: string;
  readonly text: string;
}

export interface KeyCell {
  readonly promised: Ballot | null;
  readonly accepted: BasicKeyState['accepted'];
}

export interface KeyRow {
  readonly key: string;
  /** Index i is acceptor node i+1; null until that acceptor reported the key. */
  readonly cells: readonly (KeyCell | null)[];
  readonly chosen: string | null;
}

export interface DashboardState {
  readonly clusterSize: number;
  readonly protocol: Protocol;
  /** Index i is node i+1. */
  readonly rows: readonly ReplicaRow[];
  readonly selected: NodeId;
  readonly leader: { readonly id: NodeId; readonly ballot: Ballot } | null;
  readonly totalChosen: number;
  readonly messageRatePerSec: number;
  /** Newest first (multi: highest slot first), at most CHOSEN_LIMIT. */
  readonly chosen: readonly ChosenEntry[];
  /** Newest first, at most FLOW_LIMIT. */
  readonly flow: readonly FlowEntry[];
  /** Messages the replicas sent but did not describe, so the flow is a sample, not the whole story. */
  readonly flowNotShown: number;
  /** Most recently changed first, at most KEY_LIMIT. */
  readonly keys: readonly KeyRow[];
  readonly faults: FaultRules;
  /** Multi: the newest configuration a replica reports (null until one does, or with a core that reports none). */
  readonly membership: Membership | null;
  /** Basic: idle catch-up messages (a catchup, or a learn with nothing in it) counted instead of listed, so they cannot push a duel off the flow. */
  readonly flowFolded: number;
  /**
   * Why the cluster is gone (`paxos down` from another terminal, the
   * connection to it lost), or null while it runs: a dashboard must not go
   * on showing the last state as if it were live.
   */
  readonly stopped: string | null;
}

const NO_FAULTS: FaultRules = {};

function emptyRow(id: NodeId): ReplicaRow {
  return {
    id,
    liveness: 'unknown',
    isolated: false,
    pid: null,
    downReason: null,
    role: null,
    member: null,
    leader: null,
    promised: null,
    lastAccepted: null,
    chosenCount: 0,
    messagesIn: 0,
    messagesOut: 0,
    messageRatePerSec: 0,
    sendRatePerSec: 0,
    sample: null,
    log: [],
  };
}

export function initialDashboard(opts: { clusterSize: number; protocol: Protocol }): DashboardState {
  if (!Number.isInteger(opts.clusterSize) || opts.clusterSize < 1) {
    throw new RangeError(`cluster size must be a positive integer, got ${opts.clusterSize}`);
  }
  return {
    clusterSize: opts.clusterSize,
    protocol: opts.protocol,
    rows: Array.from({ length: opts.clusterSize }, (_, i) => emptyRow(i + 1)),
    selected: 1,
    leader: null,
    totalChosen: 0,
    messageRatePerSec: 0,
    chosen: [],
    flow: [],
    flowNotShown: 0,
    keys: [],
    faults: NO_FAULTS,
    membership: null,
    flowFolded: 0,
    stopped: null,
  };
}

/** Selects a replica for the log pane; ids outside the cluster are clamped into it. */
export function selectNode(state: DashboardState, id: NodeId): DashboardState {
  const selected = Math.min(Math.max(1, Math.trunc(id) || 1), state.clusterSize);
  return selected === state.selected ? state : { ...state, selected };
}

export function applyEvent(state: DashboardState, event: ClusterEvent): DashboardState {
  switch (event.type) {
    case 'cluster':
      return resize(state, event.clusterSize, event.protocol);
    case 'status':
      return withSummary(
        applyKeys(
          updateRow(withMembership(state, event.status.view.membership), event.status.node, (r) =>
            applyStatus(r, event.status),
          ),
          event.status,
        ),
      );
    case 'flow':
      return hasNode(state, event.node)
        ? applyFlow(state, event.node, foldIdle(state, event.lines), event.droppedLines)
        : state;
    case 'chosen':
      return withSummary(
        applyChosen(state, { instance: event.instance, value: event.value, ballot: event.ballot, atMs: event.atMs }),
      );
    case 'core': {
      const text = logLineOf(state.protocol, event.event);
      return text === null ? state : updateRow(state, event.node, (r) => appendLog(r, event.atMs, text));
    }
    case 'log':
      return updateRow(state, event.node, (r) => appendLog(r, event.atMs, event.line));
    case 'replica-up':
      return withSummary(
        updateRow(joined(state, event.node), event.node, (r) =>
          appendLog(
            { ...r, liveness: 'up', pid: event.pid, downReason: null, sample: null },
            event.atMs,
            `up (pid ${event.pid})`,
          ),
        ),
      );
    case 'replica-down':
      return withSummary(
        updateRow(state, event.node, (r) => appendLog(markDown(r, event.reason), event.atMs, `down: ${event.reason}`)),
      );
    case 'faults':
      return applyFaults(
        state,
        {
          ...(event.partition !== null ? { partition: event.partition } : {}),
          ...(event.delayMs !== null ? { delayMs: event.delayMs } : {}),
          dropRate: event.dropRate,
        },
        event.atMs,
      );
  }
}

/**
 * A replica that joined a Multi-Paxos cluster (`paxos add`) has an id beyond
 * the bootstrap size; the orchestrator announcing it is what grows the rows,
 * up to MAX_NODE_ID. Other events from unknown ids are still ignored.
 */
function joined(state: DashboardState, id: NodeId): DashboardState {
  if (state.protocol !== 'multi' || !Number.isInteger(id) || id <= state.clusterSize || id > MAX_NODE_ID) return state;
  return resize(state, id, state.protocol);
}

function withMembership(state: DashboardState, m: Membership | undefined): DashboardState {
  if (m === undefined || (state.membership !== null && state.membership.epoch >= m.epoch)) return state;
  return { ...state, membership: m };
}

function hasNode(state: DashboardState, id: NodeId): boolean {
  return Number.isInteger(id) && id >= 1 && id <= state.clusterSize;
}

/** Events from ids outside the cluster are ignored: node ids are 1..clusterSize, and rows must stay bounded. */
function updateRow(state: DashboardState, id: NodeId, change: (row: ReplicaRow) => ReplicaRow): DashboardState {
  if (!hasNode(state, id)) return state;
  const rows = state.rows.slice();
  rows[id - 1] = change(rows[id - 1]);
  return { ...state, rows };
}

function resize(state: DashboardState, clusterSize: number, protocol: Protocol): DashboardState {
  if (clusterSize === state.clusterSize && protocol === state.protocol) return state;
  const fresh = initialDashboard({ clusterSize, protocol });
  const rows = fresh.rows.map((r, i) => state.rows[i] ?? r);
  // A different protocol means a different cluster: nothing it showed still applies.
  if (protocol !== state.protocol) return fresh;
  return withSummary({ ...state, clusterSize, rows, selected: Math.min(state.selected, clusterSize), keys: [] });
}

function markDown(row: ReplicaRow, reason: string): ReplicaRow {
  return { ...row, liveness: 'down', downReason: reason, messageRatePerSec: 0, sendRatePerSec: 0, sample: null };
}

function applyStatus(row: ReplicaRow, s: ReplicaStatus): ReplicaRow {
  // A status can trail the replica's death by a few milliseconds; only replica-up brings a dead replica back.
  if (row.liveness === 'down') return row;
  const sample: RateSample = { uptimeMs: s.uptimeMs, messagesIn: s.messagesIn, messagesOut: s.messagesOut };
  const rates = ratesBetween(row.sample, sample);
  return {
    ...row,
    liveness: 'up',
    pid: s.pid,
    role: s.view.role,
    member: s.view.member ?? null,
    leader: s.view.leader,
    promised: s.view.promised,
    lastAccepted: s.view.lastAccepted,
    chosenCount: s.view.chosenCount,
    messagesIn: s.messagesIn,
    messagesOut: s.messagesOut,
    ...rates,
    sample,
  };
}

/** Rates from two successive samples; a restart (uptime or counters going back) starts afresh at zero. */
function ratesBetween(
  prev: RateSample | null,
  next: RateSample,
): { messageRatePerSec: number; sendRatePerSec: number } {
  if (prev === null) return { messageRatePerSec: 0, sendRatePerSec: 0 };
  const elapsedSec = (next.uptimeMs - prev.uptimeMs) / 1000;
  const dIn = next.messagesIn - prev.messagesIn;
  const dOut = next.messagesOut - prev.messagesOut;
  if (elapsedSec <= 0 || dIn < 0 || dOut < 0) return { messageRatePerSec: 0, sendRatePerSec: 0 };
  return { messageRatePerSec: (dIn + dOut) / elapsedSec, sendRatePerSec: dOut / elapsedSec };
}

function appendLog(row: ReplicaRow, atMs: number, text: string): ReplicaRow {
  const log = row.log.length >= LOG_LIMIT ? row.log.slice(row.log.length - LOG_LIMIT + 1) : row.log.slice();
  log.push({ atMs, text });
  return { ...row, log };
}

/**
 * Basic Paxos replicas poll each other for decided keys all the time (about
 * 40 messages a second on an idle cluster); listed, they would push a duel's
 * prepares and promises off the flow within a second. A catchup request and
 * a learn that carries nothing are counted instead; a learn that carries
 * values is news and stays.
 */
function foldIdle(state: DashboardState, lines: readonly FlowLine[]): { lines: readonly FlowLine[]; folded: number } {
  if (state.protocol !== 'basic') return { lines, folded: 0 };
  const kept = lines.filter((l) => !isIdleCatchup(l));
  return { lines: kept, folded: lines.length - kept.length };
}

export function isIdleCatchup(l: Pick<FlowLine, 'type' | 'text'>): boolean {
  return l.type === 'catchup' || (l.type === 'learn' && /\blearn\s*$/.test(l.text));
}

function applyFlow(
  state: DashboardState,
  node: NodeId,
  { lines, folded }: { lines: readonly FlowLine[]; folded: number },
  dropped: number,
): DashboardState {
  // Lines arrive oldest first; the flow shows newest first. Only the newest FLOW_LIMIT can ever be shown.
  const fresh = lines
    .slice(-FLOW_LIMIT)
    .reverse()
    .map((l) => ({ node, atMs: l.atMs, type: l.type, text: l.text }));
  const notShown = Math.max(0, lines.length - FLOW_LIMIT) + (Number.isFinite(dropped) && dropped > 0 ? dropped : 0);
  return {
    ...state,
    flow: fresh.concat(state.flow.slice(0, FLOW_LIMIT - fresh.length)),
    flowNotShown: state.flowNotShown + notShown,
    flowFolded: state.flowFolded + folded,
  };
}

/** The cluster is gone; see DashboardState.stopped. The first reason stands. */
export function markStopped(state: DashboardState, reason: string): DashboardState {
  return state.stopped !== null ? state : { ...state, stopped: reason };
}

/**
 * Replicas taken out of the cluster for good (`paxos remove`, `replace`):
 * the cluster's status no longer lists them, but their ids are spent and
 * may lie below a live one's, so their rows exist and must not show as
 * unknown (`?`) replicas.
 */
export function markRemoved(state: DashboardState, ids: readonly NodeId[]): DashboardState {
  let next = state;
  for (const id of ids) next = updateRow(next, id, (r) => (r.member === 'removed' ? r : { ...r, member: 'removed' }));
  return next === state ? state : withSummary(next);
}

/**
 * Whether a row belongs on the screen: not a removed replica (unless it is
 * still running, where its role column says `removed`), nor one that a
 * changed configuration (epoch above 0) left out and that is no longer
 * running. A learner is shown though it does not vote.
 */
export function isShown(state: Pick<DashboardState, 'membership'>, row: ReplicaRow): boolean {
  if (row.member === 'removed') return row.liveness === 'up';
  const m = state.membership;
  if (m === null || m.epoch === 0 || m.voters.includes(row.id) || row.member === 'learner') return true;
  return row.liveness === 'up';
}

/** The rows the table shows, in id order. */
export function shownRows(state: Pick<DashboardState, 'membership' | 'rows'>): readonly ReplicaRow[] {
  return state.rows.filter((r) => isShown(state, r));
}

/** The replicas the header counts: the configuration's, removed ones left out, as `paxos status` counts them. */
export function memberCount(state: Pick<DashboardState, 'membership' | 'rows'>): number {
  return shownRows(state).filter((r) => r.member !== 'removed').length;
}

/**
 * The replica to select: `wanted` if it is shown, else the first shown one
 * that is up, else the first shown one (or `wanted` if nothing is shown).
 */
export function selectableId(state: Pick<DashboardState, 'membership' | 'rows'>, wanted: NodeId): NodeId {
  const rows = shownRows(state);
  if (rows.some((r) => r.id === wanted)) return wanted;
  return (rows.find((r) => r.liveness === 'up' && r.member !== 'removed') ?? rows[0])?.id ?? wanted;
}

/**
 * Every replica reports what it learns, so the same instance arrives once per
 * replica: the first report stands. Multi-mode slots are kept in slot order so
 * a restarted replica catching up on old slots does not push them to the top.
 */
function applyChosen(state: DashboardState, entry: ChosenEntry): DashboardState {
  const known = state.chosen.findIndex((c) => c.instance === entry.instance);
  if (known !== -1) return fillBallot(state, known, entry.ballot);
  if (state.protocol === 'basic') return { ...state, chosen: [entry, ...state.chosen.slice(0, CHOSEN_LIMIT - 1)] };
  const slot = Number(entry.instance);
  let at = state.chosen.findIndex((c) => Number(c.instance) < slot);
  if (at === -1) at = state.chosen.length;
  if (at >= CHOSEN_LIMIT) return state;
  const chosen = state.chosen.slice();
  chosen.splice(at, 0, entry);
  return { ...state, chosen: chosen.slice(0, CHOSEN_LIMIT) };
}

/**
 * An entry read back from a replica's log (see seedChosen) has no ballot,
 * because the log keeps only the value. When the same instance later arrives
 * live with its ballot, the ballot is filled in rather than the entry added
 * twice: agreement makes the value the same, so only the ballot is news.
 */
function fillBallot(state: DashboardState, at: number, ballot: Ballot | null): DashboardState {
  const old = state.chosen[at];
  if (old.ballot !== null || ballot === null) return state;
  const chosen = state.chosen.slice();
  chosen[at] = { ...old, ballot };
  return { ...state, chosen };
}

/** How many values read back from a replica's log seed the chosen list; one screen's worth and then some. */
export const SEED_LIMIT = 50;

/**
 * What a dashboard that starts late missed: the most recent values one
 * replica had learned as chosen, read through its control API, or why they
 * could not be read. `node` is the replica asked; null if none could be.
 */
export type MissedChosen =
  | { readonly node: NodeId; readonly entries: readonly ChosenEntry[] }
  | { readonly node: NodeId | null; readonly error: string };

/**
 * Seeds the chosen list with values chosen before the dashboard started, so
 * a dashboard attached late does not show an empty list until something new
 * is chosen. Entries come newest first. Anything already shown (it arrived
 * live while the log was being read) stands, so nothing is listed twice; in
 * basic mode the seeded keys go below the live ones, because they were chosen
 * earlier. A failure is one line in the asked replica's log (the selected
 * one's if none could be asked): the dashboard works on without the history.
 */
export function seedChosen(state: DashboardState, missed: MissedChosen, atMs: number): DashboardState {
  if ('error' in missed) {
    const node = missed.node !== null && hasNode(state, missed.node) ? missed.node : state.selected;
    return updateRow(state, node, (r) =>
      appendLog(r, atMs, `could not read earlier chosen values: ${showLine(missed.error)}`),
    );
  }
  const entries = missed.entries.slice(0, SEED_LIMIT);
  let next = state;
  if (state.protocol === 'basic') {
    const older = entries.filter(
      (e, i) =>
        !state.chosen.some((c) => c.instance === e.instance) &&
        entries.findIndex((o) => o.instance === e.instance) === i,
    );
    if (older.length === 0) return state;
    next = { ...state, chosen: state.chosen.concat(older).slice(0, CHOSEN_LIMIT) };
  } else {
    // Slots are ordered by number; an instance that is not one cannot be placed, so it is left out.
    for (const e of entries) if (/^\d{1,15}$/.test(e.instance)) next = applyChosen(next, e);
  }
  return next === state ? state : withSummary(next);
}

/** Basic mode: folds one acceptor's per-key state into the shared per-key view. */
function applyKeys(state: DashboardState, s: ReplicaStatus): DashboardState {
  if (!s.keys || s.keys.length === 0 || !hasNode(state, s.node) || state.rows[s.node - 1].liveness === 'down')
    return state;
  let keys = state.keys;
  for (const k of s.keys.slice(-KEY_LIMIT)) keys = applyKey(keys, state.clusterSize, s.node, k);
  return keys === state.keys ? state : { ...state, keys };
}

function applyKey(keys: readonly KeyRow[], clusterSize: number, node: NodeId, k: BasicKeyState): readonly KeyRow[] {
  const at = keys.findIndex((r) => r.key === k.key);
  const old = at === -1 ? null : keys[at];
  const cell: KeyCell = { promised: k.promised, accepted: k.accepted };
  const oldCell = old?.cells[node - 1] ?? null;
  const chosen = old?.chosen ?? k.chosen;
  if (old !== null && sameCell(oldCell, cell) && old.chosen === chosen) return keys;
  const cells = old ? old.cells.slice() : Array.from({ length: clusterSize }, () => null);
  cells[node - 1] = cell;
  // A key that just changed moves to the top, so the table follows the action.
  const rest = keys.filter((_, i) => i !== at);
  return [{ key: k.key, cells, chosen }, ...rest.slice(0, KEY_LIMIT - 1)];
}

function sameCell(a: KeyCell | null, b: KeyCell): boolean {
  return (
    a !== null &&
    sameBallot(a.promised, b.promised) &&
    (a.accepted === null
      ? b.accepted === null
      : b.accepted !== null &&
        sameBallot(a.accepted.ballot, b.accepted.ballot) &&
        a.accepted.value === b.accepted.value)
  );
}

function sameBallot(a: Ballot | null, b: Ballot | null): boolean {
  return a === null || b === null ? a === b : compareBallots(a, b) === 0;
}

function applyFaults(state: DashboardState, faults: FaultRules, atMs: number): DashboardState {
  const rows = state.rows.map((r) => {
    const isolated = isIsolated(faults, r.id);
    if (isolated === r.isolated) return r;
    return appendLog({ ...r, isolated }, atMs, isolated ? 'isolated by a partition' : 'rejoined the network');
  });
  return { ...state, rows, faults };
}

/** Recomputes the header figures from the rows and the chosen list. */
function withSummary(state: DashboardState): DashboardState {
  let leader: DashboardState['leader'] = null;
  let maxChosen = state.chosen.length;
  let rate = 0;
  for (const r of state.rows) {
    if (r.liveness === 'down') continue;
    maxChosen = Math.max(maxChosen, r.chosenCount);
    rate += r.sendRatePerSec;
    // Two replicas can both believe they lead for a moment; the higher ballot is the one that can still win.
    if (
      r.role === 'leader' &&
      r.promised !== null &&
      (leader === null || compareBallots(r.promised, leader.ballot) > 0)
    ) {
      leader = { id: r.id, ballot: r.promised };
    }
  }
  return { ...state, leader, totalChosen: maxChosen, messageRatePerSec: rate };
}

/**
 * The core event as a line of the replica's log pane, in the core's own words; null for a routine per-slot phase 2
 * in multi mode, which would flood the pane (adopted values, and every Basic phase 2, are worth a line).
 */
export function logLineOf(protocol: Protocol, e: CoreEvent): string | null {
  if (protocol === 'multi' && e.type === 'phase2' && !e.adopted) return null;
  return describeCoreEvent(e);
}
