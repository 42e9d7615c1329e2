#!/usr/bin/env node
/**
 * How long the command line takes to start: the wall time of `paxos
 * --version`, `paxos --help` and a `paxos propose` to a running 3-replica
 * cluster (started here in a scratch PAXOS_HOME, stopped at the end), each
 * the median of --runs runs, beside a bare `node -e 0` measured in the same
 * run, so the numbers compare on a loaded machine too. Runs are interleaved
 * (one of each, then again), so a burst of load hits every row alike.
 *
 *   npm run bench:startup [-- --runs 20] [--json] [--bin path/to/bin/paxos.js]
 *
 * --bin measures another checkout's launcher (e.g. an older commit built
 * elsewhere) with this same script. Nothing here asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
    bin: { type: 'string' },
  },
});
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${flags.runs}`);
const bin = flags.bin !== undefined ? resolve(flags.bin) : fileURLToPath(new URL('../bin/paxos.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'paxos-startup-'));
const env = { ...process.env, PAXOS_HOME: home };
for (const k of Object.keys(env)) if (k.startsWith('PAXOS_') && k !== 'PAXOS_HOME') delete env[k];

/**
 * GNU time, when the machine has it, gives each run's CPU time (user + system) too: on a loaded machine
 * the wall time mostly measures the other work, the CPU time what the command itself costs.
 */
const GNU_TIME = '/usr/bin/time';
const haveTime = spawnSync(GNU_TIME, ['-f', '%U', 'true']).status === 0;

/** One run's wall time in ms, from spawn to exit, and its CPU time in ms (NaN without GNU time); a failed run stops the benchmark with its stderr. */
function wall(args) {
  const started = process.hrtime.bigint();
  const r = haveTime
    ? spawnSync(GNU_TIME, ['-f', 'cpu %U %S', process.execPath, ...args], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  return { ms, cpuMs: cpu === null ? Number.NaN : (Number(cpu[1]) + Number(cpu[2])) * 1000 };
}

function paxos(...args) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`paxos ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const rows = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'paxos --version', args: [bin, '--version'] },
  { name: 'paxos --help', args: [bin, '--help'] },
  { name: 'paxos propose (3 replicas)', args: [bin, 'propose', 'startup=1'] },
];
const times = rows.map(() => []);
const cpus = rows.map(() => []);
try {
  paxos('up', '-n', '3', '--detach');
  // The first proposal elects a leader; it is not a start-up time.
  paxos('propose', 'warmup=1', '--timeout', '20s');
  for (let i = 0; i < runs; i++) {
    for (const [j, row] of rows.entries()) {
      const { ms, cpuMs } = wall(row.args);
      times[j].push(ms);
      cpus[j].push(cpuMs);
    }
  }
} finally {
  spawnSync(process.execPath, [bin, 'down', '--wipe'], { env, stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
}

const base = median(times[0]);
const result = rows.map((row, j) => {
  const ms = times[j];
  return {
    command: row.name,
    medianMs: round(median(ms)),
    minMs: round(Math.min(...ms)),
    maxMs: round(Math.max(...ms)),
    overNodeMs: round(median(ms) - base),
    cpuMedianMs: round(median(cpus[j])),
  };
});
function round(x) {
  return Math.round(x * 10) / 10;
}

if (flags.json) {
  process.stdout.write(`${JSON.stringify({ runs, node: process.version, bin, rows: result })}\n`);
} else {
  process.stdout.write(`start-up wall time, median of ${runs} runs (node ${process.version}, ${bin})\n`);
  const table = [
    ['command', 'median', 'min', 'max', 'over node -e 0', 'CPU (median)'],
    ...result.map((r) => [
      r.command,
      `${r.medianMs} ms`,
      `${r.minMs} ms`,
      `${r.maxMs} ms`,
      j(r),
      `${r.cpuMedianMs} ms`,
    ]),
  ];
  function j(r) {
    return r.command === 'node -e 0' ? '-' : `+${r.overNodeMs} ms`;
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((t) => t[i].length)));
  for (const t of table)
    process.stdout.write(`${t.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}\n`);
}
