/**
 * A datadriven scenario runner in the style of etcd's raft testdata: a file
 * is a script of steps, each followed by `----` and the trace the step must
 * produce. Messages are held in a visible pool and only move when the script
 * says so, so a reader can follow the protocol without a debugger.
 *
 * Commands:
 *   cluster <basic|multi> <n>          start n fresh replicas
 *   propose <node> <key>=<value>       a client asks a node to set a key
 *   get <node> <key>                   a client asks a node to read a key
 *   deliver <from> <to> <type>         deliver the oldest pending matching message
 *   drop <from> <to> <type>            lose the oldest pending matching message
 *   deliver-all                        deliver until nothing is pending (bounded)
 *   tick <node|all> [count]            advance time
 *   state <node>                       print what the node's acceptor and learner hold
 *
 * Set REWRITE=1 to regenerate the expected traces from the current code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { formatBallot } from '../../src/core/ballot.js';
import { BasicPaxos } from '../../src/core/basic.js';
import type { BasicMessage } from '../../src/core/basic-messages.js';
import { describeMessage } from '../../src/core/describe.js';
import { MultiPaxos } from '../../src/core/multi.js';
import type { MultiMessage } from '../../src/core/multi-messages.js';
import type { CoreEvent, Protocol, ProtocolCore, Ready } from '../../src/core/types.js';

type Msg = MultiMessage | BasicMessage;

interface Step {
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

/** Steps are `# comments`, a command line, `----`, then the expected trace up to the next blank line. */
export function parseScenario(text: string): Step[] {
  const steps: Step[] = [];
  const lines = text.split('\n');
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) comments.push(line);
    else if (line.trim() !== '' && lines[i + 1] === '----') {
      let j = i + 2;
      while (j < lines.length && lines[j]!.trim() !== '') j++;
      steps.push({ comments, command: line.trim(), expected: lines.slice(i + 2, j).join('\n').trim() });
      comments = [];
      i = j;
    }
  }
  return steps;
}

export class ScenarioCluster {
  private cores: ProtocolCore<Msg, unknown>[] = [];
  private pool: Msg[] = [];
  private protocol: Protocol = 'basic';
  private requestSeq = 0;

  run(command: string): string {
    const [verb, ...args] = command.split(/\s+/);
    switch (verb) {
      case 'cluster':
        return this.start(args[0] as Protocol, Number(args[1]));
      case 'propose': {
        const [key, value] = args[1]!.split('=');
        return this.request(node(args[0]!), { op: 'set', key: key!, value: value! });
      }
      case 'get':
        return this.request(node(args[0]!), { op: 'get', key: args[1]! });
      case 'deliver':
        return this.move(node(args[0]!), node(args[1]!), args[2]!, true);
      case 'drop':
        return this.move(node(args[0]!), node(args[1]!), args[2]!, false);
      case 'deliver-all':
        return this.deliverAll();
      case 'tick':
        return this.tick(args[0]!, Number(args[1] ?? 1));
      case 'state':
        return this.state(node(args[0]!));
      default:
        throw new Error(`unknown scenario command: ${command}`);
    }
  }

  private start(protocol: Protocol, n: number): string {
    this.protocol = protocol;
    this.pool = [];
    this.cores = [];
    for (let id = 1; id <= n; id++) {
      const config = { id, clusterSize: n, randomSeed: id, electionTimeoutTicks: 10, heartbeatTicks: 3 };
      this.cores.push(protocol === 'basic' ? new BasicPaxos(config) : (new MultiPaxos(config) as ProtocolCore<Msg, unknown>));
    }
    return `${n} ${protocol} replicas`;
  }

  private request(id: number, command: { op: 'set'; key: string; value: string } | { op: 'get'; key: string }): string {
    this.cores[id - 1]!.step({ type: 'request', request: { requestId: `r${++this.requestSeq}`, command } });
    return this.collect(id);
  }

  private move(from: number, to: number, type: string, deliver: boolean): string {
    const i = this.pool.findIndex((m) => m.from === from && m.to === to && m.type === type);
    if (i < 0) throw new Error(`no pending ${type} from node-${from} to node-${to}; pending: ${this.pending()}`);
    const [m] = this.pool.splice(i, 1);
    if (!deliver) return `dropped ${describeMessage(this.protocol, m!)}`;
    this.cores[to - 1]!.step({ type: 'message', message: m! });
    return this.collect(to);
  }

  private deliverAll(): string {
    const out: string[] = [];
    for (let rounds = 0; this.pool.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('deliver-all did not quiesce');
      const m = this.pool.shift()!;
      this.cores[m.to - 1]!.step({ type: 'message', message: m });
      const text = this.collect(m.to);
      out.push(`[${describeMessage(this.protocol, m)}]`);
      if (text !== '') out.push(text);
    }
    return out.join('\n');
  }

  private tick(target: string, count: number): string {
    const ids = target === 'all' ? this.cores.map((c) => c.id) : [node(target)];
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      for (const id of ids) {
        this.cores[id - 1]!.step({ type: 'tick' });
        const text = this.collect(id);
        if (text !== '') out.push(text);
      }
    }
    return out.join('\n');
  }

  private state(id: number): string {
    const core = this.cores[id - 1]!;
    if (core instanceof BasicPaxos) {
      const s = core.inspect();
      const lines: string[] = [];
      for (const [key, b] of s.promised) {
        const a = s.accepted.get(key);
        const c = s.chosen.get(key);
        lines.push(`node-${id} ${key}: promised ${formatBallot(b)}, accepted ${a ? `(${formatBallot(a.ballot)}, ${a.value})` : '-'}, chosen ${c ? c.value : '-'}`);
      }
      return lines.join('\n');
    }
    const v = core.view();
    return `node-${id}: ${v.role}, promised ${formatBallot(v.promised)}, chosen ${v.chosenCount}, commit<#${v.commitIndex}`;
  }

  private pending(): string {
    return this.pool.map((m) => `${m.type} ${m.from}→${m.to}`).join(', ') || 'none';
  }

  /** Takes the node's Ready: messages join the pool, everything else becomes trace lines. */
  private collect(id: number): string {
    const ready = this.cores[id - 1]!.ready() as Ready<Msg, unknown>;
    const lines = ready.events.map((e) => `node-${id} ${describeEvent(e)}`);
    for (const m of [...ready.earlyMessages, ...ready.messages]) {
      this.pool.push(m);
      lines.push(describeMessage(this.protocol, m));
    }
    if (ready.afterPersist !== null) {
      this.cores[id - 1]!.step({ type: 'persisted', note: ready.afterPersist });
      const more = this.collect(id);
      if (more !== '') lines.push(more);
    }
    for (const c of ready.chosen) lines.push(`node-${id} learned ${c.instance}: ${c.value}`);
    for (const r of ready.replies) {
      lines.push(r.ok
        ? `node-${id} replies: ${r.key}=${r.value ?? 'nil'} at ${formatBallot(r.ballot)}${r.alreadyChosen ? ' (already chosen)' : ''}`
        : `node-${id} replies: error ${r.error}`);
    }
    return lines.join('\n');
  }
}

function node(name: string): number {
  return Number(name.replace(/^node-/, ''));
}

function describeEvent(e: CoreEvent): string {
  switch (e.type) {
    case 'phase1':
      return `starts phase 1 at ${formatBallot(e.ballot)}${e.instance ? ` for ${e.instance}` : ''}`;
    case 'phase2':
      return `starts phase 2 at ${formatBallot(e.ballot)}: ${e.instance}=${e.value}${e.adopted ? ' (adopted)' : ''}`;
    case 'leader':
      return `is leader at ${formatBallot(e.ballot)}`;
    case 'follower':
      return `follows ${e.leader === null ? 'nobody' : `node-${e.leader}`}`;
    case 'preempted':
      return `pre-empted: ${formatBallot(e.ballot)} lost to ${formatBallot(e.by)}`;
    case 'backoff':
      return `backs off ${e.ticks} ticks`;
    case 'note':
      return e.text;
  }
}

/** Runs a scenario file; returns mismatches (empty when it passes). With REWRITE=1 it rewrites the file instead. */
export function runScenarioFile(path: string): string[] {
  const cluster = new ScenarioCluster();
  const failures: string[] = [];
  const rewritten: string[] = [];
  for (const step of parseScenario(readFileSync(path, 'utf8'))) {
    const actual = cluster.run(step.command).trim();
    rewritten.push([...step.comments, step.command, '----', actual, ''].join('\n'));
    if (actual !== step.expected) failures.push(`step "${step.command}"\n--- expected\n${step.expected}\n--- actual\n${actual}`);
  }
  if (process.env.REWRITE === '1') writeFileSync(path, rewritten.join('\n'));
  return process.env.REWRITE === '1' ? [] : failures;
}
