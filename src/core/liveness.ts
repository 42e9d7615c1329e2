import type { FailureCode, NodeId } from './types.js';

/**
 * Which peers this replica heard from lately, in ticks. It feeds the reasons
 * given to clients ("no quorum: 2 of 5 nodes reachable"), a leader's check
 * that it still reaches a majority, and one planted bug; never the quorum size.
 */
export class PeerLiveness {
  private readonly lastHeardTick = new Map<NodeId, number>();

  constructor(
    private peers: readonly NodeId[],
    private readonly windowTicks: number,
  ) {}

  /** The configuration changed: only its voters count from now on. */
  setPeers(peers: readonly NodeId[]): void {
    this.peers = peers;
    for (const id of this.lastHeardTick.keys()) if (!peers.includes(id)) this.lastHeardTick.delete(id);
  }

  heard(peer: NodeId, nowTick: number): void {
    if (!this.peers.includes(peer)) return;
    this.lastHeardTick.set(peer, nowTick);
  }

  /** Replicas reachable now, this one included. */
  count(nowTick: number): number {
    let live = 1;
    for (const peer of this.peers) {
      const heard = this.lastHeardTick.get(peer);
      if (heard !== undefined && nowTick - heard <= this.windowTicks) live++;
    }
    return live;
  }

  /** Why a request is being failed back: a missing majority if that is the reason, else `otherwise`. */
  timeoutReason(o: {
    nowTick: number;
    clusterSize: number;
    quorum: number;
    otherwise: { code: FailureCode; error: string };
  }): { code: FailureCode; error: string } {
    const live = this.count(o.nowTick);
    if (live < o.quorum)
      return { code: 'no-quorum', error: `no quorum: ${live} of ${o.clusterSize} nodes reachable, ${o.quorum} needed` };
    return o.otherwise;
  }
}
