/**
 * Carries out a nemesis schedule on a real cluster through the same
 * orchestrator requests the CLI uses (`paxos kill`, `pause`, `partition`,
 * `net`, ...), and records every start and end in the history. A fault that
 * cannot be applied (its target already down, say) is recorded and logged,
 * never fatal: the run goes on and says what happened.
 */
import type { ClusterClient } from '../cluster/client.js';
import type { HistoryEvent } from './history.js';
import { describeFault, type Fault, type ScheduledFault, type Target } from './nemesis.js';

export interface NemesisRunnerOptions {
  readonly cluster: ClusterClient;
  readonly schedule: readonly ScheduledFault[];
  readonly nowMs: () => number;
  readonly record: (e: HistoryEvent) => void;
  readonly log: (line: string) => void;
  readonly leader: () => number | null;
}

/** What a started fault did, so its end undoes exactly that. */
interface Active {
  readonly scheduled: ScheduledFault;
  readonly killed: number[];
  readonly paused: number[];
  net: boolean;
  partitioned: boolean;
}

export class NemesisRunner {
  private next = 0;
  private active: Active | null = null;

  constructor(private readonly o: NemesisRunnerOptions) {}

  current(): string | null {
    return this.active === null ? null : describeFault(this.active.scheduled.fault);
  }

  /** Starts and ends whatever is due now. */
  async step(): Promise<void> {
    const now = this.o.nowMs();
    if (this.active !== null && now >= this.active.scheduled.endMs) await this.end();
    const due = this.o.schedule[this.next];
    if (this.active === null && due !== undefined && now >= due.startMs) {
      this.next++;
      await this.start(due);
    }
  }

  /** Ends the fault in progress, if any: the run is over. */
  async finish(): Promise<void> {
    if (this.active !== null) await this.end();
  }

  private async start(s: ScheduledFault): Promise<void> {
    const text = describeFault(s.fault);
    this.o.record({ type: 'nemesis', phase: 'start', kind: s.fault.kind, description: text, timeMs: this.o.nowMs() });
    this.o.log(`${(this.o.nowMs() / 1000).toFixed(1)}s nemesis: ${text}`);
    const active: Active = { scheduled: s, killed: [], paused: [], net: false, partitioned: false };
    this.active = active;
    await this.apply(s.fault, active).catch((err: Error) => this.o.log(`  nemesis could not ${text}: ${err.message}`));
  }

  private async apply(f: Fault, a: Active): Promise<void> {
    const c = this.o.cluster;
    switch (f.kind) {
      case 'kill':
        for (const n of this.targets(f.target)) await c.kill(n).then(() => a.killed.push(n));
        return;
      case 'pause':
        for (const n of this.targets(f.target)) await c.pause(n).then(() => a.paused.push(n));
        return;
      case 'partition': {
        const rest = Array.from({ length: c.record.clusterSize }, (_, i) => i + 1).filter((n) => !f.minority.includes(n));
        await c.partition([[...f.minority], rest]);
        a.partitioned = true;
        return;
      }
      case 'leader':
        return this.hitLeader(f.how, a);
      case 'delay':
        a.net = true;
        return c.net({ delayMs: { min: f.minMs, max: f.maxMs } });
      case 'drop':
        a.net = true;
        return c.net({ dropRate: f.rate });
      case 'kill-all':
        await c.killAll();
        a.killed.push(...Array.from({ length: c.record.clusterSize }, (_, i) => i + 1));
        return;
    }
  }

  private async hitLeader(how: 'kill' | 'pause' | 'isolate', a: Active): Promise<void> {
    const leader = this.o.leader();
    if (leader === null) throw new Error('there is no leader to hit');
    const c = this.o.cluster;
    if (how === 'kill') await c.kill(leader).then(() => a.killed.push(leader));
    else if (how === 'pause') await c.pause(leader).then(() => a.paused.push(leader));
    else {
      await c.isolate(leader);
      a.partitioned = true;
    }
  }

  private targets(t: Target): number[] {
    if ('nodes' in t) return [...t.nodes];
    const leader = this.o.leader();
    return leader === null ? [] : [leader];
  }

  private async end(): Promise<void> {
    const a = this.active!;
    this.active = null;
    const c = this.o.cluster;
    const undo = async (what: string, p: () => Promise<void>) => p().catch((err: Error) => this.o.log(`  nemesis could not ${what}: ${err.message}`));
    for (const n of a.paused) await undo(`resume node-${n}`, () => c.resume(n));
    if (a.scheduled.fault.kind === 'kill-all') await undo('restart every replica', async () => { await c.restartAll(); });
    else for (const n of a.killed) await undo(`restart node-${n}`, () => c.restart(n));
    if (a.partitioned) await undo('heal', () => c.heal());
    if (a.net) await undo('restore the network', () => c.net({ delayMs: null, dropRate: 0 }));
    const text = describeFault(a.scheduled.fault);
    this.o.record({ type: 'nemesis', phase: 'end', kind: a.scheduled.fault.kind, description: text, timeMs: this.o.nowMs() });
  }
}
