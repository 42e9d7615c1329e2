/**
 * One socket write per turn. ws writes every frame with a write system call
 * of its own; a leader answering the replies of one Ready, or a client whose
 * answers came in one read and who asks again at once, would make one call
 * per frame (the leader's profile at 64 in flight: a third of its socket
 * writes were single answers). Corking the socket at the first frame of a
 * turn and uncorking it once the turn's callbacks and promise reactions have
 * run (process.nextTick, queued from them, runs after them) sends them all in
 * one writev, without holding any frame past the turn that made it.
 */
import type { Duplex } from 'node:stream';

/** Returns `cork`: call it before each send on `socket`; the socket is uncorked at the end of the turn. */
export function corkForTurn(socket: Duplex): () => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(uncork);
  };
}
