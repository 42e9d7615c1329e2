/** Option parsers shared by commands; each throws a UsageError naming the flag. */
import { describeIds } from '../cluster/home.js';
import { nodeName } from '../core/types.js';
import { UsageError } from '../errors.js';
import { MAX_CLIENT_TIMEOUT_MS } from '../node/limits.js';

export function parseIntFlag(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
}

export function parseProtocol(raw: string): 'multi' | 'basic' {
  return parseChoice('--protocol', ['multi', 'basic'] as const)(raw);
}

/** Accepts 500ms, 5s, 2m or a bare number of milliseconds. */
export function parseDurationMs(flag: string) {
  return (raw: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
    if (m === null) throw new UsageError(`${flag} must be a duration like 500ms, 5s or 2m, got "${raw}"`);
    const n = Number(m[1]);
    const unit = m[2] ?? 'ms';
    return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
  };
}

/**
 * `--timeout` of propose and get: the replica's own limits (above 0, at most
 * ten minutes) applied here, so a timeout it would refuse is bad usage (exit
 * 2) said before anything is sent, not an outcome that looks unknown (exit 3).
 */
export function parseClientTimeout(raw: string): number {
  const ms = parseDurationMs('--timeout')(raw);
  if (ms <= 0 || ms > MAX_CLIENT_TIMEOUT_MS) {
    throw new UsageError(
      `--timeout must be above 0 and at most ${MAX_CLIENT_TIMEOUT_MS / 60_000}m, the longest a replica waits, got "${raw}"`,
    );
  }
  return ms;
}

/**
 * `node-3` or `3` → 3, checked against the cluster when it is known: its
 * bootstrap size (ids 1..n), or the ids of its members (replicas that joined
 * later have ids beyond the bootstrap size, and removed ones are gone).
 */
export function parseNodeName(raw: string, members?: number | readonly number[]): number {
  const m = /^(?:node-)?(\d+)$/.exec(raw.trim());
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(id) || id < 1) throw new UsageError(`"${raw}" is not a replica name; use node-1, node-2, ...`);
  if (typeof members === 'number' && id > members) {
    throw new UsageError(`there is no ${nodeName(id)}: this cluster has node-1 to ${nodeName(members)}`);
  }
  if (typeof members === 'object' && !members.includes(id)) {
    throw new UsageError(`there is no ${nodeName(id)}: this cluster has ${describeIds(members)}`);
  }
  return id;
}

/** The closest of `choices` to what was typed, when it is close enough to be a typo (edit distance at most 2, or a prefix). */
export function closest(raw: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of choices) {
    const d = editDistance(raw.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.min(2, Math.floor(best.length / 3)))) return best;
  const prefixed = choices.filter((c) => raw.length > 0 && c.toLowerCase().startsWith(raw.toLowerCase()));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** ` (did you mean "multi"?)`, or nothing when no choice is close. */
export function didYouMean(raw: string, choices: readonly string[]): string {
  const c = closest(raw, choices);
  return c === undefined ? '' : ` (did you mean "${c}"?)`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A flag whose value must be one of a few names; a typo gets a suggestion. */
export function parseChoice<T extends string>(flag: string, choices: readonly T[]) {
  return (raw: string): T => {
    if ((choices as readonly string[]).includes(raw)) return raw as T;
    throw new UsageError(`${flag} must be ${choiceList(choices)}, got "${raw}"${didYouMean(raw, choices)}`);
  };
}

function choiceList(choices: readonly string[]): string {
  const q = choices.map((c) => `"${c}"`);
  return q.length <= 1
    ? q.join('')
    : `${q.length > 2 ? 'one of ' : ''}${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** At most a week: a soak longer than that is a typo, not a plan. */
const MAX_SOAK_MS = 7 * 24 * 3_600_000;

/**
 * How long a soak (or one of its intervals) runs: a bare integer is a number
 * of values (1000000), a number with s, m or h is a duration (90s, 10m, 2h).
 */
export function parseSoakLength(flag: string) {
  return (raw: string): { values: number } | { ms: number } => {
    const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(raw.trim());
    const n = m === null ? NaN : Number(m[1]);
    if (m !== null && m[2] === undefined && Number.isInteger(n) && n >= 1 && n <= 1_000_000_000) return { values: n };
    const ms =
      m === null || m[2] === undefined
        ? NaN
        : Math.round(n * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000));
    if (ms >= 1000 && ms <= MAX_SOAK_MS) return { ms };
    throw new UsageError(
      `${flag} must be a number of values (e.g. 1000000) or a duration from 1s to 168h (e.g. 90s, 10m, 2h), got "${raw}"`,
    );
  };
}
