/**
 * Carries out a nemesis schedule on a real cluster through the same
 * orchestrator requests the CLI uses (`paxos kill`, `pause`, `partition`,
 * `net`, ...), and records every start and end in the history. A fault that
 * cannot be applied (its target already down, say) is recorded and logged,
 * never fatal: the run goes on and says what happened.
 */
import { addOn, removeOn } from '../cluster/membership-changes.js';
import { must } from '../core/must.js';
import { nodeName } from '../core/types.js';
import { DiskFault, type DiskFaultContext, type DiskOutcome } from './disk-fault.js';
import type { CheckDriver } from './driver.js';
import type { HistoryEvent } from './history.js';
import { describeFault, type Fault, type ScheduledFault, type Target } from './nemesis.js';

export interface NemesisRunnerOptions {
  readonly cluster: CheckDriver;
  readonly schedule: readonly ScheduledFault[];
  readonly nowMs: () => number;
  readonly record: (e: HistoryEvent) => void;
  readonly log: (line: string) => void;
  readonly leader: () => number | null;
  /** The replicas in the cluster now (ids change as the membership nemesis adds and removes them). */
  readonly members: () => readonly number[];
  /** What the disk nemesis needs (its driver, scratch space and copies); without it a disk fault cannot be applied. */
  readonly disk?: DiskFaultContext;
  /** Receives what each disk fault did to each of its victims, once the fault has ended. */
  readonly diskDone?: (outcomes: readonly DiskOutcome[]) => void;
}

/** How long one `paxos add` or `paxos remove` of the membership nemesis may take (a learner's catch-up included). */
const CHANGE_TIMEOUT_MS = 20_000;

/** What a started fault did, so its end undoes exactly that. */
interface Active {
  readonly scheduled: ScheduledFault;
  readonly killed: number[];
  readonly paused: number[];
  net: boolean;
  partitioned: boolean;
  /** A membership fault's first change, which its end undoes. */
  changed: { readonly added: number | null; readonly removed: number | null } | null;
  /** A disk fault, whose end heals and brings its refused victims back. */
  disk: DiskFault | null;
}

export class NemesisRunner {
  private next = 0;
  private active: Active | null = null;

  constructor(private readonly o: NemesisRunnerOptions) {}

  current(): string | null {
    return this.active === null ? null : describeFault(this.active.scheduled.fault, this.o.cluster.faultMeans);
  }

  /** Starts and ends whatever is due now. */
  async step(): Promise<void> {
    const now = this.o.nowMs();
    if (this.active !== null && now >= this.active.scheduled.endMs) await this.end(this.active);
    const due = this.o.schedule[this.next];
    if (this.active === null && due !== undefined && now >= due.startMs) {
      this.next++;
      await this.start(due);
    }
  }

  /** Ends the fault in progress, if any: the run is over. */
  async finish(): Promise<void> {
    if (this.active !== null) await this.end(this.active);
  }

  private async start(s: ScheduledFault): Promise<void> {
    const text = describeFault(s.fault, this.o.cluster.faultMeans);
    this.o.record({ type: 'nemesis', phase: 'start', kind: s.fault.kind, description: text, timeMs: this.o.nowMs() });
    this.o.log(`${(this.o.nowMs() / 1000).toFixed(1)}s nemesis: ${text}`);
    const active: Active = {
      scheduled: s,
      killed: [],
      paused: [],
      net: false,
      partitioned: false,
      changed: null,
      disk: null,
    };
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
        // Drawn among the first ids; after membership changes only the replicas still there take part.
        const members = this.o.members();
        const minority = f.minority.filter((n) => members.includes(n));
        const rest = members.filter((n) => !minority.includes(n));
        if (minority.length === 0 || rest.length === 0)
          throw new Error('none of its replicas is in the cluster any more');
        await c.partition([minority, rest]);
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
        a.killed.push(...this.o.members());
        return;
      case 'membership':
        return this.changeMembership(f.how, a);
      case 'disk': {
        if (this.o.disk === undefined) throw new Error('this check has no driver for the disk nemesis');
        a.disk = new DiskFault(this.o.disk, f.damage, f.seed, this.next);
        // Basic Paxos has no leader (leader() names a stand-in there).
        return a.disk.start(this.o.members(), this.o.disk.protocol === 'multi' ? this.o.leader() : null);
      }
    }
  }

  /** The first half of a membership fault: the change `paxos add`, `remove` or `replace` makes, through the same service. */
  private async changeMembership(how: 'grow' | 'shrink' | 'replace', a: Active): Promise<void> {
    const ctx = this.changeContext();
    if (how === 'grow') {
      const added = await addOn(ctx);
      a.changed = { added: added.node, removed: null };
      return;
    }
    const victim = this.victim();
    await removeOn(ctx, victim);
    a.changed = { added: null, removed: victim };
    if (how === 'replace') {
      await addOn(ctx);
      a.changed = null; // A replacement keeps the size: nothing to undo.
    }
  }

  /** A voter to remove: not the leader half the time, so both a follower's and a leader's removal are exercised. */
  private victim(): number {
    const members = this.o.members();
    const leader = this.o.leader();
    const others = members.filter((n) => n !== leader);
    if (leader !== null && (this.next % 2 === 0 || others.length === 0)) return leader;
    return must(others[this.next % others.length], 'without a leader to pick, the configuration still has a voter');
  }

  private changeContext() {
    return {
      cluster: this.o.cluster,
      timeoutMs: CHANGE_TIMEOUT_MS,
      report: { step: (line: string) => this.o.log(`  ${line}`) },
    };
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

  /** Undoes `a`, the fault in progress. */
  private async end(a: Active): Promise<void> {
    this.active = null;
    const c = this.o.cluster;
    const undo = async (what: string, p: () => Promise<void>) =>
      p().catch((err: Error) => this.o.log(`  nemesis could not ${what}: ${err.message}`));
    for (const n of a.paused) await undo(`resume ${nodeName(n)}`, () => c.resume(n));
    if (a.scheduled.fault.kind === 'kill-all')
      await undo('restart every replica', async () => {
        await c.restartAll();
      });
    else for (const n of a.killed) await undo(`restart ${nodeName(n)}`, () => c.restart(n));
    if (a.partitioned) await undo('heal', () => c.heal());
    if (a.changed?.added != null)
      await undo('remove a replica again', async () => {
        await removeOn(this.changeContext(), this.victim());
      });
    if (a.changed?.removed != null)
      await undo('add a replica again', async () => {
        await addOn(this.changeContext());
      });
    if (a.net) await undo('restore the network', () => c.net({ delayMs: null, dropRate: 0 }));
    const disk = a.disk;
    if (disk !== null) {
      await undo('end the disk fault', () => disk.end());
      for (const o of disk.outcomes)
        if (o.broughtBack !== undefined) this.o.log(`  ${nodeName(o.node)}, refused at its start: ${o.broughtBack}`);
      this.o.diskDone?.(disk.outcomes);
    }
    const text = describeFault(a.scheduled.fault, this.o.cluster.faultMeans);
    this.o.record({
      type: 'nemesis',
      phase: 'end',
      kind: a.scheduled.fault.kind,
      description: text,
      timeMs: this.o.nowMs(),
    });
  }
}
