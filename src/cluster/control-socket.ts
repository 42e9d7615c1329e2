/**
 * Where the orchestrator's control plane listens: a unix socket in the home,
 * mode 0600, as pm2 (~/.pm2/rpc.sock) and docker (/var/run/docker.sock) do.
 * File permissions then decide who may connect, so another local user cannot
 * open a single connection, while a TCP port let anyone open thousands and
 * starve the owner's commands.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { OperatingError } from '../errors.js';

/** sun_path holds 108 bytes on Linux, the last one a NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** How long a socket left behind gets to answer before it is taken as stale. */
const PROBE_TIMEOUT_MS = 1000;

export function controlSocketOf(home: string): string {
  return join(home, 'control.sock');
}

/** A home too deep for a unix socket's path is refused in one sentence before anything starts. */
export function checkSocketPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES)
    throw new OperatingError(
      `the control socket ${path} would be ${bytes} bytes long, more than the ${MAX_SOCKET_PATH_BYTES} a unix socket's path may have; set PAXOS_HOME to a shorter path`,
    );
}

/**
 * Makes way for a new orchestrator's socket. A socket of the user's own that
 * nothing answers on was left by an orchestrator that was SIGKILLed, and is
 * removed; anything else at that name (a file, a link, another user's
 * socket, a live orchestrator) is refused, never deleted.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  checkSocketPath(path);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  const uid = process.getuid?.();
  if (!st.isSocket() || (uid !== undefined && st.uid !== uid))
    throw new OperatingError(
      `${path} is not a control socket paxos made (it is ${describeKind(st)}${uid !== undefined && st.uid !== uid ? ` of uid ${st.uid}` : ''}); remove it and run the command again`,
    );
  if (await answers(path))
    throw new OperatingError(`an orchestrator is already listening on ${path}; stop it with \`paxos down\``);
  unlinkSync(path);
}

function describeKind(st: ReturnType<typeof lstatSync> & object): string {
  if (st.isSymbolicLink()) return 'a link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a file';
  return st.isSocket() ? 'a socket' : 'a special file';
}

/** Whether something accepts connections on the socket (a refused or missing one does not). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    // Silent past the timeout: something holds the socket open without answering, which is not ours to remove.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
