#!/usr/bin/env node
// How long three `paxos replica` processes on 127.0.0.1 take from their spawn
// to the first value chosen through `paxos propose --cluster`, with mutual TLS
// (certificates from `paxos certs`, client-cert-auth) and without (ws://).
// Then ten more proposes per run, each one's latency as the replica reports it
// (--json latencyMs: from the request's arrival to its value chosen, the
// leader's round trip to its peers over ws:// or wss:// included).
// Usage: node scripts/bench-tls-formation.mjs [RUNS]   (after npm run build)
// Prints one JSON line: every run's milliseconds and the medians per mode.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', 'bin', 'paxos.js');
const runs = Number(process.argv[2] ?? 5);
const LIMIT_MS = 30_000;

function paxos(args) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 15_000 });
}

async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function once(tls, dir, run) {
  const ports = await freePorts(3);
  const here = join(dir, `${tls ? 'tls' : 'plain'}-${run}`);
  const file = `${here}.json`;
  writeFileSync(
    file,
    JSON.stringify({
      clusterId: 'bench',
      tokenFile: join(dir, 'token'),
      ...(tls
        ? {
            tls: {
              caFile: join(dir, 'certs', 'ca.crt'),
              certFile: join(dir, 'certs', 'node-{id}.crt'),
              keyFile: join(dir, 'certs', 'node-{id}.key'),
              clientCertFile: join(dir, 'certs', 'client.crt'),
              clientKeyFile: join(dir, 'certs', 'client.key'),
              clientCertAuth: true,
            },
          }
        : {}),
      members: ports.map((port, i) => ({ id: i + 1, address: `127.0.0.1:${port}` })),
    }),
  );
  const started = Date.now();
  const procs = ports.map((port, i) => {
    const out = openSync(`${here}-${i + 1}.log`, 'a');
    const p = spawn(
      process.execPath,
      [
        bin,
        'replica',
        '--id',
        String(i + 1),
        '--listen',
        `127.0.0.1:${port}`,
        '--cluster-file',
        file,
        '--data',
        `${here}-d${i + 1}`,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    return p;
  });
  try {
    while (Date.now() - started < LIMIT_MS) {
      if (paxos(['propose', `k${run}=1`, '--cluster', file, '--timeout', '2s']).status === 0) {
        const formedMs = Date.now() - started;
        return { formedMs, latencies: latencies(file, run) };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no value chosen within ${LIMIT_MS} ms (${tls ? 'tls' : 'plain'} run ${run}); see ${here}-*.log`);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

function latencies(file, run) {
  const out = [];
  for (let i = 0; i < 10; i++) {
    const r = paxos(['propose', `l${run}-${i}=v`, '--cluster', file, '--json']);
    if (r.status === 0) out.push(JSON.parse(r.stdout.trim().split('\n').pop()).latencyMs);
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'paxos-tls-bench-'));
try {
  writeFileSync(join(dir, 'token'), 'bench-token-0123456789\n', { mode: 0o600 });
  const made = paxos(['certs', '--out', join(dir, 'certs'), '--cluster-id', 'bench']);
  if (made.status !== 0) throw new Error(made.stderr);
  const result = { runs, plainMs: [], tlsMs: [], plainLatencyMs: [], tlsLatencyMs: [] };
  // Alternated, so that a busy moment of the machine costs both modes alike.
  for (let run = 1; run <= runs; run++) {
    const plain = await once(false, dir, run);
    const tls = await once(true, dir, run);
    result.plainMs.push(plain.formedMs);
    result.tlsMs.push(tls.formedMs);
    result.plainLatencyMs.push(...plain.latencies);
    result.tlsLatencyMs.push(...tls.latencies);
  }
  const round = (xs) => xs.map((x) => Math.round(x * 10) / 10);
  process.stdout.write(
    `${JSON.stringify({
      runs,
      formationMs: { plain: result.plainMs, tls: result.tlsMs },
      formationMedianMs: { plain: median(result.plainMs), tls: median(result.tlsMs) },
      proposeLatencyMedianMs: { plain: median(round(result.plainLatencyMs)), tls: median(round(result.tlsLatencyMs)) },
      proposes: { plain: result.plainLatencyMs.length, tls: result.tlsLatencyMs.length },
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
