#!/usr/bin/env node
/**
 * Paired A/B of two builds on a shared machine: each round starts build A's
 * and build B's 3-replica clusters and measures both at the same time, each
 * with the same bench client (CLIENT's `paxos bench --attach --json`), so a
 * burst of load from other work hits both alike; the ratio of their
 * replicas' CPU per value is taken round by round. scripts/ab-bench.mjs
 * alternates the builds instead; on a machine whose load swings by the
 * second, pairing in time is what makes a few per cent visible. The two
 * clusters share the cores, so absolute figures are lower than alone.
 *
 *   node scripts/ab-paired.mjs --a A --b B [--rounds 5] [--ops 6000] [--warm 0] [--client B]
 *
 * A, B and CLIENT are built checkouts (dist/ and bin/). Nothing here asserts a time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    ops: { type: 'string', default: '6000' },
    client: { type: 'string' },
    // Benches run and not counted before the measured one, on the same clusters: V8 compiles the hot path during
    // the first thousands of values (TurboFan on its worker threads, counted in the replicas' CPU), so a warm
    // measurement is the steady state and a cold one includes the warm-up.
    warm: { type: 'string', default: '0' },
  },
});
if (flags.a === undefined || flags.b === undefined) throw new Error('--a and --b name the two built checkouts');
const [A, B, CLIENT] = [flags.a, flags.b, flags.client ?? flags.b];
const client = join(CLIENT, 'bin', 'paxos.js');
const run = (bin, args, env) => {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 600000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const runAsync = (bin, args, env) =>
  new Promise((res, rej) => {
    const p = spawn(process.execPath, [bin, ...args], { env });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? res(out) : rej(new Error(err))));
  });
const res = { A: [], B: [] };
for (let round = 1; round <= Number(flags.rounds); round++) {
  const sides = [
    ['A', join(A, 'bin/paxos.js')],
    ['B', join(B, 'bin/paxos.js')],
  ].map(([name, bin]) => {
    const home = mkdtempSync(join(tmpdir(), `paxos-abp-${name}-`));
    return { name, bin, home, env: { ...process.env, PAXOS_HOME: home } };
  });
  try {
    for (const s of sides) {
      run(s.bin, ['up', '-n', '3', '--detach'], s.env);
      run(s.bin, ['propose', 'warmup=1', '--timeout', '20s'], s.env);
    }
    const bench = () =>
      Promise.all(
        sides.map((s) =>
          runAsync(
            client,
            ['bench', '--attach', '--json', '--without-breakdown', '--ops', flags.ops, '--concurrency', '64'],
            s.env,
          ),
        ),
      );
    for (let w = 0; w < Number(flags.warm); w++) await bench();
    const outs = await bench();
    sides.forEach((s, i) => {
      const row = JSON.parse(outs[i]).rows[0];
      res[s.name].push(row);
      console.log(
        `round ${round} ${s.name}: ${row.opsPerSec} ops/s, p99 ${row.p99Ms} ms, replicas ${row.cpuUsPerValue} µs CPU/value, ${row.messagesPerValue} msgs/value`,
      );
    });
  } finally {
    for (const s of sides) {
      spawnSync(process.execPath, [s.bin, 'down', '--wipe'], { env: s.env, stdio: 'ignore' });
      rmSync(s.home, { recursive: true, force: true });
    }
  }
}
const med = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const n of ['A', 'B'])
  console.log(
    `${n} median of ${res[n].length}: ${med(res[n].map((r) => r.opsPerSec))} ops/s, p99 ${med(res[n].map((r) => r.p99Ms))} ms, replicas ${med(res[n].map((r) => r.cpuUsPerValue))} µs CPU/value, ${med(res[n].map((r) => r.messagesPerValue))} msgs/value`,
  );
const ratios = res.A.map((a, i) => res.B[i].cpuUsPerValue / a.cpuUsPerValue);
console.log(
  `B/A CPU per value, paired by round: ${ratios.map((r) => r.toFixed(3)).join(' ')}; median ${med(ratios).toFixed(3)}`,
);
