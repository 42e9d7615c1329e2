#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. replicas started with
// PAXOS_REPLICA_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR"): the share of samples
// per function (self time) and per source file, so a profile can be read in a terminal.
// Usage: node scripts/cpu-profile-top.mjs FILE.cpuprofile [rows]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node scripts/cpu-profile-top.mjs FILE.cpuprofile [rows]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;
const selfBy = new Map();
const fileBy = new Map();
for (const [id, count] of hits) {
  const node = byId.get(id);
  const f = node.callFrame;
  const where = (f.url || '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  const name = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
  selfBy.set(name, (selfBy.get(name) ?? 0) + count);
  const key = where || f.functionName;
  fileBy.set(key, (fileBy.get(key) ?? 0) + count);
}
const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${total} samples over ${seconds.toFixed(1)} s`);
console.log('-- self time by function');
for (const [name, n] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(n)}  ${name}`);
// Inclusive time: a function's samples and its callees', counted once per stack even where it recurses.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const nameOf = (node) => {
  const f = node.callFrame;
  const where = (f.url || '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
};
const totalBy = new Map();
for (const [id, count] of hits) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const name = nameOf(byId.get(at));
    if (seen.has(name)) continue;
    seen.add(name);
    totalBy.set(name, (totalBy.get(name) ?? 0) + count);
  }
}
const busy = total - (selfBy.get('(idle) :0') ?? 0);
console.log(`-- total time (self and callees) by function; not idle: ${pct(busy)}`);
for (const [name, n] of [...totalBy]
  .sort((a, b) => b[1] - a[1])
  .filter(([name]) => !name.startsWith('(root)'))
  .slice(0, rows))
  console.log(`${pct(n)}  ${name}`);
console.log('-- self time by file');
for (const [name, n] of [...fileBy].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(n)}  ${name}`);
