/**
 * The simulator's checkers, wired to the scenario runner's hooks: the same
 * `InvariantChecker` calls `src/sim/world.ts` makes (events and state after
 * each Ready, what is released, what reaches a disk, what is sent, every
 * restart), plus the answers a client got. A violation is recorded, not
 * thrown through the shell: the step finishes as it would without the
 * checks, so its trace is the one `paxos scenario run` prints.
 */
import { commandId } from '../core/multi/sessions.js';
import type { ClientReply, Command, CommandIdentity, Protocol, ProtocolCore, Ready } from '../core/types.js';
import { commandKey, nodeName } from '../core/types.js';
import type { PeerMessage } from '../node/replica.js';
import type { ClusterWatcher } from '../scenario/runner.js';
import { adapterFor, type ProtocolAdapter, type SimCore, touchedInstances } from '../sim/adapter.js';
import { InvariantChecker, InvariantViolation } from '../sim/invariants.js';

type Msg = PeerMessage;

/** One client command as the checks follow it: answered at most once, ok only if chosen, refused only if not. */
export interface Request {
  readonly node: number;
  readonly command: Command;
  readonly valueId: string;
  answers: number;
  outcome: 'ok' | 'refused' | 'unknown' | null;
  /** Basic answers ok with the value chosen for the key, which may be another proposer's. */
  okValue: string | null;
  /**
   * Sent under an identity an earlier request holds (a `reuse` change): Multi names a value by its identity, so
   * the checks keep the first command sent under it, as the simulator's administrator does, and this one's
   * answers are not held to "ok means chosen" or "refused means never chosen".
   */
  readonly reused: boolean;
}

export class ExploreChecks implements ClusterWatcher {
  readonly adapter: ProtocolAdapter<Msg>;
  readonly checker: InvariantChecker<Msg>;
  readonly requests: Request[] = [];
  /** The first violation seen, with the step it happened in (set by the caller through `step`). */
  violation: string | null = null;

  constructor(
    readonly protocol: Protocol,
    clusterSize: number,
  ) {
    this.adapter = adapterFor(protocol) as ProtocolAdapter<Msg>;
    this.checker = new InvariantChecker(this.adapter, clusterSize);
  }

  /** Runs one check; the first violation is kept and later ones ignored (they follow from it). */
  private guard(check: () => void): void {
    if (this.violation !== null) return;
    try {
      check();
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      this.violation = err.message;
    }
  }

  sent(node: number, m: Msg): void {
    this.guard(() => this.checker.onSend(node, m));
  }

  durable(node: number, records: readonly unknown[]): void {
    this.guard(() => this.checker.onDurable(node, records));
  }

  ready(node: number, core: ProtocolCore<Msg, unknown>, ready: Ready<Msg, unknown>): void {
    const sim = core as unknown as SimCore<Msg>;
    this.guard(() => this.checker.onEvents(node, sim, ready.events));
    this.guard(() => this.checker.afterStep(node, sim, this.touchedInstances(ready)));
  }

  released(node: number, ready: Ready<Msg, unknown>): void {
    this.guard(() => this.checker.onReleasedEvents(node, ready.events));
    this.guard(() => this.checker.onChosen(node, ready.chosen));
  }

  booted(node: number, incarnation: number, core: ProtocolCore<Msg, unknown>): void {
    if (incarnation > 1) this.guard(() => this.checker.onRestart(node, core as unknown as SimCore<Msg>));
  }

  requested(node: number, command: Command, identity: CommandIdentity): void {
    const value = command.op === 'set' ? command.value : '';
    const valueId = this.adapter.commandValueId(identity, value);
    const reused = this.requests.some((r) => r.valueId === valueId) && this.protocol === 'multi';
    if (!reused && (command.op === 'set' || this.protocol === 'multi'))
      this.checker.noteProposed(commandKey(command), valueId);
    if (!reused && command.op === 'config')
      this.checker.noteConfigProposed(valueId, { fromEpoch: command.fromEpoch, voters: command.voters });
    const req: Request = { node, command, valueId, answers: 0, outcome: null, okValue: null, reused };
    this.requests.push(req);
    this.byIdentity.set(requestKey(identity, command), req);
  }

  /** Requests by identity and command: two requests may share an identity (a reused one), never both. */
  private readonly byIdentity = new Map<string, Request>();

  answered(node: number, command: Command, identity: CommandIdentity, reply: ClientReply): void {
    const req = this.byIdentity.get(requestKey(identity, command));
    if (req === undefined) return;
    req.answers++;
    this.guard(() => {
      if (req.answers > 1)
        throw new InvariantViolation(
          `exactly-once: ${describe(req)} to ${nodeName(node)} was answered ${req.answers} times`,
        );
    });
    req.outcome = reply.ok ? 'ok' : ((reply as { outcome?: 'refused' | 'unknown' }).outcome ?? 'unknown');
    req.okValue = reply.ok ? (reply.value ?? null) : null;
    if (reply.ok && command.op === 'config' && !req.reused)
      this.guard(() => this.checker.onChangeAcknowledged(node, command, (reply as { slot?: number }).slot ?? 0));
  }

  /**
   * After every step: an answer ok names a value a durable majority holds,
   * and a refused command was never chosen (the simulator's answer checks).
   */
  afterStep(): void {
    this.guard(() => {
      const chosen = new Set<string>();
      for (const v of this.checker.chosenByDefinition.values()) chosen.add(v.valueId);
      for (const r of this.requests) {
        if (r.reused) continue;
        const id = this.protocol === 'basic' ? r.okValue : r.valueId;
        if (r.outcome === 'ok' && (id === null || !chosen.has(id)))
          throw new InvariantViolation(`ok means chosen: ${describe(r)} was answered ok, but ${id} was never chosen`);
        // A change is a compare-and-set judged at its slot: chosen and then refused there (it named an epoch no longer
        // or not yet in force) is how one fails, as Stoppable Paxos has it. Its effect is checked by the epochs instead.
        if (r.outcome === 'refused' && this.protocol === 'multi' && r.command.op !== 'config' && chosen.has(r.valueId))
          throw new InvariantViolation(`refused means never chosen: ${describe(r)} was refused, but it was chosen`);
      }
    });
  }

  /** The instances a Ready touched, as the simulator's world computes them for `afterStep`. */
  private touchedInstances(ready: Ready<Msg, unknown>): Set<string> {
    return touchedInstances(this.protocol, this.adapter, ready);
  }
}

function requestKey(identity: CommandIdentity, command: Command): string {
  return `${commandId(identity)} ${JSON.stringify(command)}`;
}

function describe(r: Request): string {
  const c = r.command;
  return c.op === 'set' ? `set ${c.key}=${c.value} at ${nodeName(r.node)}` : `${c.op} at ${nodeName(r.node)}`;
}
