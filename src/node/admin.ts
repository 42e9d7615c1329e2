/**
 * The admin API of a replica on its own host (`paxos replica`): faults
 * without an orchestrator. A driver (`paxos check --cluster`, a person with
 * the admin token) sends each replica a versioned set of fault rules
 * (partition, one-way cuts, per-link delay and drop: transport/faults.ts,
 * the same rules the orchestrator pushes in lab mode), which EXPIRES on its
 * own after its TTL, so a driver that dies cannot leave a cluster
 * partitioned or a replica frozen. `crash` makes the replica exit for its
 * supervisor to restart; `freeze` and `thaw` stand in for SIGSTOP/SIGCONT,
 * which need a process on the same host.
 *
 * Expiry runs on the shell's clock (node/clock.ts), never in the core: the
 * core knows nothing of faults.
 */
import type { ControlRole } from '../transport/auth.js';
import { type FaultRules, type LinkId, type LinkRule, MAX_DELAY_MS } from '../transport/faults.js';
import type { Clock } from './clock.js';
import { ControlError } from './control.js';

/**
 * What a client token may ask: commands, reads, and registering a client session (which a client library does before
 * its first command). Everything else (faults, crash, membership, step mode) is the administrator's.
 */
export const CLIENT_OPS: ReadonlySet<string> = new Set([
  'propose',
  'get',
  'register',
  'status',
  'kv',
  'log',
  'subscribe',
]);

/** Refuses, in one sentence, a request the connection's token class may not make. */
export function checkRole(role: ControlRole, op: unknown): void {
  if (role === 'client' && !(typeof op === 'string' && CLIENT_OPS.has(op)))
    throw new ControlError(
      `a client token may only propose, get, register a session and read status; "${String(op)}" needs the admin token`,
    );
}

/** The longest a rule set or a freeze lasts: long enough for any check's fault, short enough that a forgotten one heals. */
export const MAX_TTL_MS = 10 * 60_000;
/** How often the shell looks for an expired rule set or freeze. */
const EXPIRY_CHECK_MS = 50;
/** Time for the crash request's answer to leave before the process exits. */
const CRASH_AFTER_MS = 50;
/** The exit code of a crash on request: not 0, so a supervisor with `restart: on-failure` restarts it too. */
export const CRASH_EXIT = 70;

export type AdminRequest =
  | { readonly op: 'set-rules'; readonly version: number; readonly ttlMs: number; readonly rules: FaultRules }
  | { readonly op: 'admin-state' }
  | { readonly op: 'crash' }
  | { readonly op: 'freeze'; readonly ttlMs: number }
  | { readonly op: 'thaw' };

export const ADMIN_OPS: ReadonlySet<string> = new Set(['set-rules', 'admin-state', 'crash', 'freeze', 'thaw']);

/**
 * One control request of a replica on its own host: refused when its token
 * class may not make it; an admin request answered here; anything else
 * passed on to the control API (node/control.ts). The orchestrator's
 * `faults` and `peers` pushes have no place here: rules come only through
 * set-rules, which expire, and peers only from the replica's own flags.
 */
export async function routeAdmin(
  admin: AdminFaults,
  role: ControlRole,
  raw: unknown,
  rest: (raw: unknown) => Promise<unknown>,
): Promise<unknown> {
  const op = typeof raw === 'object' && raw !== null ? (raw as Obj).op : undefined;
  checkRole(role, op);
  if (op === 'faults' || op === 'peers')
    throw new ControlError(
      `a replica on its own host takes no "${op}" push: fault rules come through set-rules (they expire), peers from its flags`,
    );
  if (typeof op === 'string' && ADMIN_OPS.has(op)) return admin.handle(parseAdminRequest(raw as Obj));
  return rest(raw);
}

type Obj = Record<string, unknown>;

export function parseAdminRequest(x: Obj): AdminRequest {
  switch (x.op) {
    case 'set-rules':
      if (!Number.isSafeInteger(x.version) || (x.version as number) < 1)
        throw new ControlError('set-rules needs a version, a whole number from 1 that grows with every new rule set');
      return { op: 'set-rules', version: x.version as number, ttlMs: parseTtl(x.ttlMs), rules: parseRuleSet(x.rules) };
    case 'freeze':
      return { op: 'freeze', ttlMs: parseTtl(x.ttlMs) };
    case 'admin-state':
    case 'crash':
    case 'thaw':
      return { op: x.op };
    default:
      throw new ControlError(`unknown admin request "${String(x.op)}"`);
  }
}

function parseTtl(x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0 || x > MAX_TTL_MS)
    throw new ControlError(
      `ttlMs is required, above 0 and at most ${MAX_TTL_MS}: every fault expires on its own, so a driver that dies cannot leave it in place`,
    );
  return x;
}

const isId = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1;

function parseLink(x: unknown, what: string): LinkId {
  const l = x as Obj | null;
  if (typeof l !== 'object' || l === null || !isId(l.from) || !isId(l.to) || l.from === l.to)
    throw new ControlError(`each of ${what} needs from and to, two different replica ids`);
  return { from: l.from, to: l.to };
}

function parseDelay(x: unknown): { min: number; max: number } {
  const d = x as Obj | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.min !== 'number' ||
    typeof d.max !== 'number' ||
    !(d.min >= 0) ||
    !(d.max >= d.min) ||
    d.max > MAX_DELAY_MS
  )
    throw new ControlError(`a delay is {min, max} milliseconds, 0 <= min <= max <= ${MAX_DELAY_MS}`);
  return { min: d.min, max: d.max };
}

function parseDrop(x: unknown): number {
  if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new ControlError('a drop rate is from 0 to 1');
  return x;
}

function parseLinkRule(x: unknown): LinkRule {
  const l = x as Obj;
  return {
    ...parseLink(x, 'links'),
    ...(l.delayMs !== undefined ? { delayMs: parseDelay(l.delayMs) } : {}),
    ...(l.dropRate !== undefined ? { dropRate: parseDrop(l.dropRate) } : {}),
  };
}

/** A whole rule set; absent fields mean no such fault. */
export function parseRuleSet(x: unknown): FaultRules {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ControlError('rules must be an object');
  const r = x as Obj;
  const list = (v: unknown, what: string): unknown[] => {
    if (!Array.isArray(v) || v.length > 10_000) throw new ControlError(`${what} must be a list`);
    return v;
  };
  const partition =
    r.partition === undefined || r.partition === null
      ? undefined
      : list(r.partition, 'partition').map((g) => list(g, 'each partition group').map((n) => parseId(n)));
  return {
    ...(partition !== undefined ? { partition } : {}),
    ...(r.cuts !== undefined ? { cuts: list(r.cuts, 'cuts').map((c) => parseLink(c, 'cuts')) } : {}),
    ...(r.links !== undefined ? { links: list(r.links, 'links').map(parseLinkRule) } : {}),
    ...(r.delayMs !== undefined && r.delayMs !== null ? { delayMs: parseDelay(r.delayMs) } : {}),
    ...(r.dropRate !== undefined ? { dropRate: parseDrop(r.dropRate) } : {}),
  };
}

function parseId(n: unknown): number {
  if (!isId(n)) throw new ControlError('partition groups hold replica ids (whole numbers from 1)');
  return n;
}

/** Something that expires at a time of the shell's clock. */
interface Expiring<T> {
  readonly value: T;
  readonly untilMs: number;
}

export interface AdminOptions {
  readonly clock: Clock;
  readonly applyRules: (rules: FaultRules) => void;
  readonly setFrozen: (frozen: boolean) => void;
  readonly exit: (code: number) => void;
  readonly log: (line: string) => void;
}

/** The fault state one replica holds for its drivers: the newest rule set and a freeze, each with its expiry. */
export class AdminFaults {
  private version = 0;
  private rules: Expiring<FaultRules> | null = null;
  private frozen: Expiring<true> | null = null;
  private stopWatch: (() => void) | null = null;

  constructor(private readonly o: AdminOptions) {}

  handle(req: AdminRequest): unknown {
    switch (req.op) {
      case 'set-rules':
        return this.setRules(req.version, req.rules, req.ttlMs);
      case 'admin-state':
        return this.state();
      case 'crash':
        this.o.log('crashing on an administrator\'s request (the admin API\'s "crash"); the supervisor restarts it');
        setTimeout(() => this.o.exit(CRASH_EXIT), CRASH_AFTER_MS);
        return { ok: true, exitCode: CRASH_EXIT };
      case 'freeze':
        this.frozen = { value: true, untilMs: this.o.clock.nowMs() + req.ttlMs };
        this.o.setFrozen(true);
        this.o.log(`frozen by an administrator for at most ${req.ttlMs} ms`);
        this.watch();
        return { ok: true, ...this.state() };
      case 'thaw':
        this.thaw('thawed by an administrator');
        return { ok: true, ...this.state() };
    }
  }

  /**
   * A rule set replaces the one in force when its version is higher: a
   * driver's late or repeated request, or a second driver that lags, cannot
   * bring back rules that were replaced. A restart forgets every rule (they
   * are not persisted), so a crashed replica comes back healed.
   */
  private setRules(version: number, rules: FaultRules, ttlMs: number): unknown {
    if (version <= this.version)
      throw new ControlError(
        `rule set version ${version} is not newer than version ${this.version} in force; send a higher version`,
      );
    this.version = version;
    // An empty set is the heal: nothing left to expire.
    this.rules = Object.keys(rules).length === 0 ? null : { value: rules, untilMs: this.o.clock.nowMs() + ttlMs };
    this.o.applyRules(rules);
    if (this.rules !== null) this.watch();
    return { ok: true, ...this.state() };
  }

  state(): {
    version: number;
    rules: FaultRules;
    rulesExpireInMs: number | null;
    frozen: boolean;
    thawInMs: number | null;
  } {
    const now = this.o.clock.nowMs();
    return {
      version: this.version,
      rules: this.rules?.value ?? {},
      rulesExpireInMs: this.rules === null ? null : Math.max(0, Math.round(this.rules.untilMs - now)),
      frozen: this.frozen !== null,
      thawInMs: this.frozen === null ? null : Math.max(0, Math.round(this.frozen.untilMs - now)),
    };
  }

  /** Watches the clock while anything can expire, and stops watching when nothing is left. */
  private watch(): void {
    if (this.stopWatch !== null) return;
    this.stopWatch = this.o.clock.every(EXPIRY_CHECK_MS, () => this.expire());
  }

  private expire(): void {
    const now = this.o.clock.nowMs();
    if (this.rules !== null && now >= this.rules.untilMs) {
      this.rules = null;
      this.o.applyRules({});
      this.o.log(`fault rules version ${this.version} expired: every link is as it was`);
    }
    if (this.frozen !== null && now >= this.frozen.untilMs) this.thaw('the freeze expired: thawed');
    if (this.rules === null && this.frozen === null && this.stopWatch !== null) {
      this.stopWatch();
      this.stopWatch = null;
    }
  }

  private thaw(why: string): void {
    if (this.frozen === null) return;
    this.frozen = null;
    this.o.setFrozen(false);
    this.o.log(why);
  }

  /** For the process's end: nothing left watching the clock. */
  close(): void {
    this.stopWatch?.();
    this.stopWatch = null;
  }
}
