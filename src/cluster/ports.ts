/**
 * Checking loopback ports for replicas. Without --base-port nothing is picked
 * here: a new replica binds port 0 and registers the port it got, so no other
 * process can take a port between our choosing it and the replica binding it.
 */
import { createServer } from 'node:net';
import { OperatingError } from '../errors.js';

function probe(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether `port` can be bound on `host` right now (a resumed replica asks for its old port only if so). */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return (await probe(host, port)) !== null;
}

export async function checkedPorts(host: string, basePort: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const port = basePort + i;
    if ((await probe(host, port)) === null)
      throw new OperatingError(`port ${port} on ${host} is already in use; pick another --base-port`);
    ports.push(port);
  }
  return ports;
}
