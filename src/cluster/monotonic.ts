/**
 * The clock the orchestrator's deadlines are measured on: monotonic, so a
 * wall clock stepped by NTP or by hand (an hour forward, a minute back)
 * neither ends a wait at once nor stretches it. Timestamps shown to people
 * (`atMs`, `startedAtMs`) stay on the wall clock; only durations use this.
 */
export function monotonicMs(): number {
  return performance.now();
}
