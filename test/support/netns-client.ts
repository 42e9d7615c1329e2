/**
 * A client of one replica's control API, run inside a network namespace by
 * the namespace test (`ip netns exec pxt-c node dist/test/support/netns-client.js
 * HOST PORT TOKENFILE OP [KEY [VALUE]]`): prints the reply as one JSON line,
 * exits 0 on an answer (even a refusal), 1 when the replica cannot be reached
 * or refuses the request. OP may be a whole request as JSON (`{"op":"set-rules",...}`).
 * With PXT_CLIENT_TLS (JSON: ca, cert, key file paths, clusterId, node) it
 * dials wss:// and checks that the replica's certificate is that node's.
 */
import { readFileSync } from 'node:fs';
import { connectControl } from '../../src/transport/control-client.js';

const [host, port, tokenFile, op, key, value] = process.argv.slice(2);
// `node --test dist/test/` also loads this file, with no arguments: then it has nothing to do.
if (tokenFile !== undefined) await ask(tokenFile);

async function ask(tokenFile: string): Promise<void> {
  const secret = readFileSync(tokenFile, 'utf8').split('\n')[0].trim();
  try {
    const tls = clientTls(process.env.PXT_CLIENT_TLS);
    const client = await connectControl({
      host: host,
      port: Number(port),
      secret,
      timeoutMs: 3000,
      ...(tls !== undefined ? { tls } : {}),
    });
    const request =
      op?.startsWith('{') === true
        ? (JSON.parse(op) as Record<string, unknown>)
        : op === 'propose'
          ? { op, key, value }
          : op === 'get'
            ? { op, key }
            : { op };
    const reply = await client.request(request, 5000);
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    process.exit(0);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ unreachable: err instanceof Error ? err.message : String(err) })}\n`);
    process.exit(1);
  }
}

function clientTls(
  text: string | undefined,
): { ca: string; cert: string; key: string; clusterId: string; node: number } | undefined {
  if (text === undefined) return undefined;
  const o = JSON.parse(text) as { ca: string; cert: string; key: string; clusterId: string; node: number };
  const read = (f: string) => readFileSync(f, 'utf8');
  return { ca: read(o.ca), cert: read(o.cert), key: read(o.key), clusterId: o.clusterId, node: o.node };
}
