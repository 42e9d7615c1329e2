/**
 * One state of a small cluster as `paxos explore` sees it: the scenario
 * runner's cluster (the real replica shells and cores over scripted twins)
 * with the simulator's checkers watching it. Every action is a scenario
 * command, run through the runner itself, so a path of actions is a scenario
 * file by construction and its traces are the ones `paxos scenario run
 * --sim` prints.
 *
 * The shells hold closures, timers and class instances that cannot be copied,
 * so a state is rebuilt by running its path again from the start (`replay`):
 * a state costs the length of its path to reach, and nothing but that path
 * needs keeping.
 */
import { createHash } from 'node:crypto';
import type { Protocol } from '../core/types.js';
import { messageKind } from '../scenario/lines.js';
import { ScenarioCluster } from '../scenario/runner.js';
import { type ChangeKind, changeCommand, needsSpare, withoutIdentity } from './changes.js';
import { ExploreChecks } from './checks.js';
import { canonical } from './encode.js';

/**
 * `disk`: the scenario runner's explicit writes (`option persisted explicit`): a write a leader waits on
 * (its own accepts) stays in progress until the search runs `persisted <node>`, so a crash can fall
 * between that write and what waits for it: the Ready crash points the scripted twins have.
 */
export type Fault = 'drop' | 'duplicate' | 'crash' | 'disk';
export const FAULTS: readonly Fault[] = ['drop', 'duplicate', 'crash', 'disk'];

export interface ExploreSettings {
  readonly protocol: Protocol;
  readonly nodes: number;
  /** Client requests, each made once at a time the search chooses: request i goes to node ((i - 1) mod n) + 1. */
  readonly proposals: number;
  readonly faults: readonly Fault[];
  /** Crashes along one path, at most. */
  readonly crashes: number;
  /** The scenario lines that name a planted bug (empty: none). */
  readonly setup: readonly string[];
  /**
   * Configuration changes (Multi only; none when absent), one kind each: change i is made once, at a time the
   * search chooses, to node ((i - 1) mod n) + 1 (see changes.ts).
   */
  readonly changes?: readonly ChangeKind[];
}

/** The most ticks "tick a replica to its next timeout" tries before it says the replica has none. */
export const MAX_TICKS_TO_TIMEOUT = 60;

/** An action before it is applied; applying it gives the scenario command it became (a tick learns its count). */
export type Template =
  | {
      readonly kind: 'deliver' | 'drop' | 'duplicate';
      readonly from: number;
      readonly to: number;
      readonly type: string;
    }
  | { readonly kind: 'tick' | 'crash' | 'restart' | 'persisted'; readonly node: number }
  | { readonly kind: 'propose' | 'change'; readonly index: number };

export interface Step {
  readonly command: string;
  readonly trace: string;
  /** The first violation seen during this step, if any. */
  readonly violation: string | null;
}

export class ExploreWorld {
  readonly cluster: ScenarioCluster;
  readonly checks: ExploreChecks;
  readonly steps: Step[] = [];
  private readonly proposed = new Set<number>();
  private readonly changed = new Set<number>();
  /** Each change's scenario command (without an `as` clause): a replayed path says which changes it made. */
  private readonly changeTexts: readonly string[];
  private crashes = 0;

  constructor(readonly settings: ExploreSettings) {
    this.checks = new ExploreChecks(settings.protocol, settings.nodes);
    this.cluster = new ScenarioCluster(null, this.checks);
    this.changeTexts = changeCommands(settings);
    for (const line of setupCommands(settings)) this.cluster.run(line);
  }

  /** The path's state, run again from the start; a command that no longer applies throws. */
  static replay(settings: ExploreSettings, commands: readonly string[]): ExploreWorld {
    const world = new ExploreWorld(settings);
    for (const c of commands) world.run(c);
    return world;
  }

  get violation(): string | null {
    return this.checks.violation;
  }

  /** Runs one scenario command and checks the state it leads to. A throw of the runner is the caller's to judge. */
  run(command: string): Step {
    const before = this.checks.violation;
    const trace = this.cluster.run(command);
    this.noteCommand(command);
    this.checks.afterStep();
    const step = { command, trace, violation: before === null ? this.checks.violation : null };
    this.steps.push(step);
    return step;
  }

  private noteCommand(command: string): void {
    const [verb, node, kv] = command.split(' ');
    if (verb === 'crash') this.crashes++;
    if (verb === 'propose') this.proposed.add(Number((kv ?? '').split('=')[1]));
    if (verb === 'reconfigure') {
      // Two changes of one kind at one node are the same command: either index may be marked made.
      const text = withoutIdentity(command);
      const index = this.changeTexts.findIndex((c, i) => c === text && !this.changed.has(i + 1));
      if (index >= 0) this.changed.add(index + 1);
    }
    void node;
  }

  /** Every action enabled here, in a fixed order (so a search is the same every run). */
  enabled(): Template[] {
    const s = this.settings;
    const view = this.cluster.inspect();
    const out: Template[] = [];
    const up = (id: number) => view.nodes[id - 1]?.replica != null;
    const seen = new Set<string>();
    for (const m of view.pool) {
      const type = messageKind(m);
      const key = `${m.from} ${m.to} ${type}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (up(m.to)) out.push({ kind: 'deliver', from: m.from, to: m.to, type });
      if (s.faults.includes('drop')) out.push({ kind: 'drop', from: m.from, to: m.to, type });
      if (s.faults.includes('duplicate') && up(m.to)) out.push({ kind: 'duplicate', from: m.from, to: m.to, type });
    }
    for (const n of view.nodes) if (n.replica !== null) out.push({ kind: 'tick', node: n.id });
    for (const n of view.nodes)
      if (n.replica !== null && n.unreleased > 0 && s.faults.includes('disk'))
        out.push({ kind: 'persisted', node: n.id });
    for (let i = 1; i <= s.proposals; i++)
      if (!this.proposed.has(i) && up(proposerOf(s, i))) out.push({ kind: 'propose', index: i });
    for (let i = 1; i <= (s.changes?.length ?? 0); i++) {
      const node = view.nodes[proposerOf(s, i) - 1];
      const reuse = s.changes?.[i - 1] === 'reuse';
      if (!this.changed.has(i) && node?.replica != null && (!reuse || node.requestSeq > 0))
        out.push({ kind: 'change', index: i });
    }
    if (s.faults.includes('crash') && this.crashes < s.crashes)
      for (const n of view.nodes) if (n.replica !== null) out.push({ kind: 'crash', node: n.id });
    for (const n of view.nodes) if (n.replica === null) out.push({ kind: 'restart', node: n.id });
    return out;
  }

  /** Applies an action; null when it turned out not to be enabled (a replica with no timeout within the bound). */
  apply(t: Template): Step | null {
    switch (t.kind) {
      case 'deliver':
      case 'drop':
      case 'duplicate':
        return this.run(`${t.kind} ${t.from} ${t.to} ${t.type}`);
      case 'crash':
      case 'restart':
      case 'persisted':
        return this.run(`${t.kind} ${t.node}`);
      case 'propose':
        return this.run(`propose ${proposerOf(this.settings, t.index)} x=${t.index}`);
      case 'change':
        return this.run(this.changeAt(t.index));
      case 'tick':
        return this.tickToTimeout(t.node);
    }
  }

  /** Change `index`'s command now: a `reuse` change is sent under its replica's last identity. */
  private changeAt(index: number): string {
    const s = this.settings;
    const kind = s.changes?.[index - 1] ?? 'remove';
    const node = proposerOf(s, index);
    const view = this.cluster.inspect().nodes[node - 1];
    const last = view === undefined ? undefined : { incarnation: view.incarnation, seq: view.requestSeq };
    return changeCommand({ kind, node, nodes: s.nodes, ...(last !== undefined ? { last } : {}) });
  }

  /**
   * "Tick a replica to its next timeout": ticks one at a time until the
   * replica does something the trace shows (sends, decides, answers), and
   * records the ticks as one `tick <node> <count>` step. Ticks that change
   * nothing visible are not worth a state of their own.
   */
  private tickToTimeout(node: number): Step | null {
    const before = this.checks.violation;
    const traces: string[] = [];
    for (let k = 1; k <= MAX_TICKS_TO_TIMEOUT; k++) {
      const trace = this.cluster.run(`tick ${node} 1`);
      if (trace !== '') traces.push(trace);
      if (trace === '' && this.checks.violation === before) continue;
      this.checks.afterStep();
      const step = {
        command: `tick ${node} ${k}`,
        trace: traces.join('\n'),
        violation: before === null ? this.checks.violation : null,
      };
      this.steps.push(step);
      return step;
    }
    return null;
  }

  /**
   * The state as one canonical text: each replica's core (all of its
   * memory), the parts of its shell a later step depends on, its disk, the
   * multiset of messages in flight, and which requests and crashes were made
   * and how requests were answered. Not the checkers' ghost history: two
   * paths to one state are explored once, from whichever came first.
   */
  encode(): string {
    const view = this.cluster.inspect();
    const nodes = view.nodes.map((n) => ({
      id: n.id,
      incarnation: n.incarnation,
      disk: n.disk,
      unreleased: n.unreleased,
      requestSeq: n.requestSeq,
      core: n.replica?.inspectCore() ?? null,
      shell: n.replica === null ? null : shellState(n.replica),
    }));
    const pool = view.pool.map((m) => canonical(m)).sort();
    // With changes, two requests may share an identity (a `reuse` change), so a request is told apart by its command too.
    const withChanges = (this.settings.changes?.length ?? 0) > 0;
    const requests = this.checks.requests
      .map((r) => canonical([r.node, r.valueId, r.answers, r.outcome, r.okValue, ...(withChanges ? [r.command] : [])]))
      .sort();
    const made = { proposed: [...this.proposed].sort(), crashes: this.crashes };
    if (!withChanges) return canonical({ nodes, pool, requests, ...made });
    return canonical({ nodes, pool, requests, ...made, changed: [...this.changed].sort() });
  }

  hash(): string {
    return createHash('sha1').update(this.encode()).digest('base64');
  }
}

/** What a later step depends on in the shell besides its core: its request numbering and who waits for an answer. */
function shellState(replica: object): unknown {
  const r = replica as unknown as {
    requestCount: number;
    requestSeq: number;
    waiting: Map<string, unknown>;
    inbox: unknown[];
  };
  return { requestCount: r.requestCount, requestSeq: r.requestSeq, waiting: [...r.waiting.keys()], inbox: r.inbox };
}

export function proposerOf(s: ExploreSettings, index: number): number {
  return ((index - 1) % s.nodes) + 1;
}

/**
 * The scenario lines every path starts with: the cluster, explicit writes for the disk fault, the planted bug if
 * any, then the replica an `add` change adds, joined as a learner (after the plant, which rebuilds the replicas).
 */
export function setupCommands(s: ExploreSettings): string[] {
  return [
    `cluster ${s.protocol} ${s.nodes}`,
    ...(s.faults.includes('disk') ? ['option persisted explicit'] : []),
    ...s.setup,
    ...(needsSpare(s.changes ?? []) ? [`join ${s.nodes + 1}`] : []),
  ];
}

/** The scenario command of each change, in order. */
export function changeCommands(s: ExploreSettings): string[] {
  return (s.changes ?? []).map((kind, i) => changeCommand({ kind, node: proposerOf(s, i + 1), nodes: s.nodes }));
}
