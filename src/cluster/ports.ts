/** Finding loopback ports for replicas: free ephemeral ones, or a checked range from --base-port. */
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

export async function freePorts(host: string, count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < count * 20; attempt++) {
    const port = await probe(host, 0);
    if (port !== null) ports.add(port);
  }
  if (ports.size < count) throw new OperatingError(`could not find ${count} free ports on ${host}`);
  return [...ports];
}

export async function checkedPorts(host: string, basePort: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const port = basePort + i;
    if ((await probe(host, port)) === null) throw new OperatingError(`port ${port} on ${host} is already in use; pick another --base-port`);
    ports.push(port);
  }
  return ports;
}
