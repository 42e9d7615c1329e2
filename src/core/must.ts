/**
 * For a value whose absence would be a broken invariant (an index below a
 * list's length, a key another structure of the same part guarantees): it
 * returns the value, or fails loudly naming the invariant. Where absence is
 * legitimate, the caller branches on it instead; this is not for that.
 */
export function must<T>(value: T, invariant: string): NonNullable<T> {
  if (value === undefined || value === null) throw new Error(`broken invariant: ${invariant}`);
  return value;
}
