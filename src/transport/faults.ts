/**
 * Fault rules for the network between replicas: partitions, random delay
 * and random loss (the 003 article's random delays). Every replica gets the
 * same rules from the orchestrator; each applies drop and delay to what it
 * sends, and the partition both to what it sends and to what it receives, so
 * a message already in flight (or from a peer whose rules are a moment
 * stale) cannot cross a cut.
 */
import { UsageError } from '../errors.js';

export interface FaultRules {
  /** Groups that can talk among themselves only; a replica in no group is cut off from everyone. */
  readonly partition?: readonly (readonly number[])[];
  readonly delayMs?: { readonly min: number; readonly max: number };
  /** 0..1 */
  readonly dropRate?: number;
  /** One-way cuts: nothing from `from` reaches `to`, while `to` still reaches `from` (an asymmetric fault). */
  readonly cuts?: readonly LinkId[];
  /** Per-link delay and loss, in place of the cluster-wide ones for that direction (the admin API's rules). */
  readonly links?: readonly LinkRule[];
}

export interface LinkId {
  readonly from: number;
  readonly to: number;
}

export interface LinkRule extends LinkId {
  readonly delayMs?: { readonly min: number; readonly max: number };
  readonly dropRate?: number;
}

/** Bad `--delay` or `--drop` text: the user's mistake, reported in one sentence. */
export class FaultSyntaxError extends UsageError {}

/**
 * The longest delay any message gets. Rules arrive over the control channel
 * and a silly bound (Infinity, 1e12) would otherwise park messages in timers
 * forever; past a minute every proposal times out anyway.
 */
export const MAX_DELAY_MS = 60_000;

export function canTalk(rules: FaultRules, from: number, to: number): boolean {
  if (rules.cuts?.some((c) => c.from === from && c.to === to) === true) return false;
  const groups = rules.partition;
  if (groups === undefined) return true;
  return groups.some((g) => g.includes(from) && g.includes(to));
}

/** A replica the partition cuts off from every other: in no group, or alone in its own. */
export function isIsolated(rules: FaultRules, id: number): boolean {
  const groups = rules.partition;
  if (groups === undefined) return false;
  const mine = groups.find((g) => g.includes(id));
  return mine === undefined || mine.length === 1;
}

/** What happens to one message: delivered after `delayMs`, or lost. `random` is the transport's seeded generator. */
export function decide(
  rules: FaultRules,
  from: number,
  to: number,
  random: () => number,
): { deliver: boolean; delayMs: number } {
  if (!canTalk(rules, from, to)) return { deliver: false, delayMs: 0 };
  const link = rules.links?.find((l) => l.from === from && l.to === to);
  const dropRate = link?.dropRate ?? rules.dropRate;
  if (dropRate !== undefined && dropRate > 0 && random() < dropRate) return { deliver: false, delayMs: 0 };
  return { deliver: true, delayMs: pickDelay(link?.delayMs ?? rules.delayMs, random) };
}

function pickDelay(range: FaultRules['delayMs'], random: () => number): number {
  if (range === undefined) return 0;
  const min = clampDelay(range.min);
  const max = Math.max(min, clampDelay(range.max));
  return min + random() * (max - min);
}

function clampDelay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_DELAY_MS) : 0;
}

/** `10-200ms`, `50ms`, `0.1-2s` → {min, max} in milliseconds. */
export function parseDelay(text: string): { min: number; max: number } {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)?$/.exec(text.trim());
  if (m === null) throw new FaultSyntaxError(`--delay must look like 10-200ms (got "${text}")`);
  const unit = m[3] === 's' ? 1000 : 1;
  const min = Number(m[1]) * unit;
  const max = (m[2] === undefined ? Number(m[1]) : Number(m[2])) * unit;
  if (max < min) throw new FaultSyntaxError(`--delay range ${text} runs backwards; write the smaller number first`);
  if (max > MAX_DELAY_MS) throw new FaultSyntaxError('--delay above 60s would only make every proposal time out');
  return { min, max };
}

/** `5%` or `0.05` → 0.05. */
export function parseDrop(text: string): number {
  const t = text.trim();
  const pct = t.endsWith('%');
  const body = pct ? t.slice(0, -1).trim() : t;
  const n = body === '' ? Number.NaN : Number(body);
  const rate = pct ? n / 100 : n;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new FaultSyntaxError(`--drop must be a percentage from 0% to 100% (got "${text}")`);
  return rate;
}
