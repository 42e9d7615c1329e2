/**
 * Fault rules for the network between replicas: partitions, random delay
 * and random loss (the 003 article's random delays). Every replica gets the
 * same rules from the orchestrator and applies them to what it sends.
 */
export interface FaultRules {
  /** Groups that can talk among themselves only; a replica in no group is cut off from everyone. */
  readonly partition?: readonly (readonly number[])[];
  readonly delayMs?: { readonly min: number; readonly max: number };
  /** 0..1 */
  readonly dropRate?: number;
}

export function canTalk(rules: FaultRules, from: number, to: number): boolean {
  const groups = rules.partition;
  if (groups === undefined) return true;
  return groups.some((g) => g.includes(from) && g.includes(to));
}

/** What happens to one message: delivered after `delayMs`, or lost. `random` is the transport's seeded generator. */
export function decide(rules: FaultRules, from: number, to: number, random: () => number): { deliver: boolean; delayMs: number } {
  if (!canTalk(rules, from, to)) return { deliver: false, delayMs: 0 };
  if (rules.dropRate !== undefined && rules.dropRate > 0 && random() < rules.dropRate) return { deliver: false, delayMs: 0 };
  const d = rules.delayMs;
  const delayMs = d === undefined ? 0 : d.min + random() * (d.max - d.min);
  return { deliver: true, delayMs };
}

/** `10-200ms`, `50ms`, `0.1-2s` → {min, max} in milliseconds. */
export function parseDelay(text: string): { min: number; max: number } {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)?$/.exec(text.trim());
  if (m === null) throw new Error(`--delay must look like 10-200ms (got "${text}")`);
  const unit = m[3] === 's' ? 1000 : 1;
  const min = Number(m[1]) * unit;
  const max = (m[2] === undefined ? Number(m[1]) : Number(m[2])) * unit;
  if (max < min) throw new Error(`--delay range ${text} runs backwards; write the smaller number first`);
  if (max > 60_000) throw new Error('--delay above 60s would only make every proposal time out');
  return { min, max };
}

/** `5%` or `0.05` → 0.05. */
export function parseDrop(text: string): number {
  const t = text.trim();
  const pct = t.endsWith('%');
  const n = Number(pct ? t.slice(0, -1) : t);
  const rate = pct ? n / 100 : n;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1 || t === '' || t === '%') throw new Error(`--drop must be a percentage from 0% to 100% (got "${text}")`);
  return rate;
}
