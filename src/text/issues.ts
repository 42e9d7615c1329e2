/**
 * One sentence for a validation problem, naming the file and the field: the
 * cluster record, the templates (src/cluster/schemas.ts) and a trace file's
 * lines (src/trace/format.ts) all report a malformed value this way.
 */
import type * as v from 'valibot';

/** Where in the value the issue is, as `replicas[0].port`; `the top level` when it is the value itself. */
function fieldOf(issue: v.BaseIssue<unknown>): string {
  const keys = issue.path?.map((item) => item.key) ?? [];
  if (keys.length === 0) return 'the top level';
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/** One sentence for the first problem: the file, the field, what was expected and what was found. */
export function describeIssue(file: string, issue: v.BaseIssue<unknown>): string {
  // A strict object reports an unknown key as a value that should have been `never`: say it plainly.
  if (issue.expected === 'never') return `${file}: ${fieldOf(issue)} is not a known field`;
  // A custom check expects `unknown`, which says nothing: its own message says what it wanted.
  const expected =
    issue.expected !== null && issue.expected !== 'unknown' ? `expected ${issue.expected}` : issue.message;
  return `${file}: ${fieldOf(issue)} is invalid (${expected}, got ${issue.received})`;
}
