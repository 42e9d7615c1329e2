#!/usr/bin/env node
/**
 * Interleaved A/B of two builds on a shared machine: for each round, and for
 * each build in turn, start a 3-replica cluster of that build (`paxos up
 * --detach` in a scratch PAXOS_HOME), measure it with this checkout's
 * `paxos bench --attach --json` (the same client for both, which reads each
 * replica's CPU time from its status or /proc), and stop it. Alternating
 * the builds round by round lets a burst of load from other work hit both
 * alike; CPU time per value is the figure to judge by when the machine is
 * busy, throughput and latency are printed beside it.
 *
 *   node scripts/ab-bench.mjs --a /path/to/main --b . [--rounds 3] [--ops 20000] [--concurrency 64] [-n 3]
 *
 * Nothing here asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '3' },
    ops: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    nodes: { type: 'string', short: 'n', default: '3' },
    'value-size': { type: 'string', default: '8' },
  },
});
if (flags.a === undefined) throw new Error('--a names the checkout to compare against (built: dist/ and bin/)');
const here = fileURLToPath(new URL('../bin/paxos.js', import.meta.url));
const builds = [
  ['A', join(resolve(flags.a), 'bin', 'paxos.js')],
  ['B', join(resolve(flags.b), 'bin', 'paxos.js')],
];

function run(bin, args, env) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`paxos ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

const results = { A: [], B: [] };
for (let round = 1; round <= Number(flags.rounds); round++) {
  for (const [name, bin] of builds) {
    const home = mkdtempSync(join(tmpdir(), `paxos-ab-${name}-`));
    const env = { ...process.env, PAXOS_HOME: home };
    try {
      run(bin, ['up', '-n', flags.nodes, '--detach'], env);
      run(bin, ['propose', 'warmup=1', '--timeout', '20s'], env);
      const out = run(
        here,
        [
          'bench',
          '--attach',
          '--json',
          // The breakdown's sampling runs only in builds that have it: off, both sides do the same work.
          '--without-breakdown',
          '--ops',
          flags.ops,
          '--concurrency',
          flags.concurrency,
          '--value-size',
          flags['value-size'],
        ],
        env,
      );
      const row = JSON.parse(out).rows[0];
      results[name].push(row);
      process.stdout.write(
        `round ${round} ${name}: ${row.opsPerSec} ops/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, replicas ${row.cpuUsPerValue} µs CPU/value, client ${row.clientCpuUsPerValue} µs, ${row.messagesPerValue} msgs/value\n`,
      );
    } finally {
      spawnSync(process.execPath, [bin, 'down', '--wipe'], { env, stdio: 'ignore' });
      rmSync(home, { recursive: true, force: true });
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
for (const [name, bin] of builds) {
  const rows = results[name];
  const m = (k) => median(rows.map((r) => r[k]));
  process.stdout.write(
    `${name} (${bin}) median of ${rows.length}: ${m('opsPerSec')} ops/s, p50 ${m('p50Ms')} ms, p99 ${m('p99Ms')} ms, replicas ${m('cpuUsPerValue')} µs CPU/value, ${m('messagesPerValue')} msgs/value\n`,
  );
}
