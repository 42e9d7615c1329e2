import type { FaultRules } from './faults.js';

export interface TransportStats {
  readonly sent: number;
  readonly received: number;
  readonly dropped: number;
  readonly invalid: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

/**
 * Links from one replica to its peers. Sending is best effort: Paxos
 * tolerates loss, so a message to a dead or cut-off peer is dropped and
 * counted, never thrown.
 */
export interface Transport<M extends { from: number; to: number }> {
  send(message: M): void;
  onMessage(handler: (message: M) => void): void;
  setFaults(rules: FaultRules): void;
  stats(): TransportStats;
  close(): Promise<void>;
}
