export interface TransportStats {
  readonly sent: number;
  readonly received: number;
  readonly dropped: number;
  readonly invalid: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

/**
 * Links from one replica to its peers, the one network interface: the
 * replica shell talks to its peers through it (src/node/replica.ts calls it
 * PeerLinks); WebSocket links (ws-transport.ts) and the simulator's in-memory
 * twin (src/sim/twins.ts, SimLinks) implement it. Sending is best effort:
 * Paxos tolerates loss, so a message to a dead or cut-off peer is dropped
 * (and counted, over WebSocket), never thrown.
 */
export interface Transport<M extends { from: number; to: number }> {
  /** Queues a message; queued messages leave together, one frame per peer, at the latest on the next turn of the event loop. */
  send(message: M): void;
  /**
   * Writes everything queued so far now, instead of on the next turn. A
   * replica calls it when a message is on the critical path and something
   * slower (a disk write) is about to start.
   */
  flush?(): void;
  onMessage(handler: (message: M) => void): void;
}
