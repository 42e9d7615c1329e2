/**
 * The layering rule of DESIGN.md ("Architecture"): a lower room never
 * imports a higher one, and no two folders import each other. It reads every
 * import in src/ (static, `export … from`, `import type` and `import()`) and
 * fails on each import from a room to a higher one, naming the file.
 *
 * The rooms are the folders of src/ (and its two top-level files); their
 * order, lowest first, is written down here. DESIGN.md's list names the rooms
 * in the order a reader meets them; this is the order the imports must
 * follow, and where the two differ it is because of what each room needs:
 * - `text` (printable renderings, HTML escapes, validation sentences) and
 *   `errors` sit under everything, the core included;
 * - `linearizability` (the checker the simulator, `paxos check` and the
 *   benchmark share) is pure and needs only itself;
 * - `trace` (trace formats and diagrams) sits under `node`, because the shell
 *   writes the live trace; `replay` sits over `node`, whose cores it replays
 *   (the input log the shell writes is node's own, src/node/input-log.ts);
 * - `bench` sits under `check`, which reuses its percentiles;
 * - `cli` and `index` (the CLI-free API) are the two tops.
 * With a strict order, two rooms importing each other is an import upwards
 * for one of them, so the one check covers both halves of the rule.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './support/paths.js';

/** Lowest first: a room may import only the rooms before it. */
const ORDER = [
  'text',
  'errors',
  'core',
  'linearizability',
  'storage',
  'transport',
  'trace',
  'node',
  'replay',
  'cluster',
  'sim',
  'bench',
  'check',
  'scenario',
  'explore',
  'ui',
  'cli',
  'index',
] as const;

const src = join(repoRoot(), 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The room of a file under src/: its first folder, or the name of a top-level file. */
function roomOf(file: string): string {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.tsx?$/, '');
}

/** Every relative module specifier a file imports or re-exports. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found.filter((s) => s.startsWith('.'));
}

interface Edge {
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly specifier: string;
}

function edges(): Edge[] {
  const all: Edge[] = [];
  for (const file of sourceFiles(src)) {
    const from = roomOf(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      const target = normalize(join(dirname(file), specifier));
      if (!target.startsWith(src + sep)) continue;
      const to = roomOf(target);
      if (to !== from) all.push({ file: relative(src, file), from, to, specifier });
    }
  }
  return all;
}

test('every room of src/ has its place in the order', () => {
  const rooms = new Set(sourceFiles(src).map(roomOf));
  const unplaced = [...rooms].filter((r) => !(ORDER as readonly string[]).includes(r));
  assert.deepEqual(unplaced, [], `rooms missing from ORDER in test/layering.test.ts: ${unplaced.join(', ')}`);
});

test('the reader finds imports of every kind', () => {
  const text = [
    "import { a } from '../core/a.js';",
    "import type { B } from '../node/b.js';",
    "export { c } from './c.js';",
    "export * from '../trace/d.js';",
    "import '../ui/e.js';",
    "const f = await import('../cli/f.js');",
    "import {\n  g,\n  h,\n} from '../sim/g.js';",
    "import x from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text).sort(), [
    '../cli/f.js',
    '../core/a.js',
    '../node/b.js',
    '../sim/g.js',
    '../trace/d.js',
    '../ui/e.js',
    './c.js',
  ]);
});

test('no room imports a higher one (and so no two rooms import each other)', () => {
  const rank = new Map<string, number>(ORDER.map((room, i) => [room, i]));
  const upwards = edges()
    .filter((e) => (rank.get(e.to) ?? -1) > (rank.get(e.from) ?? -1))
    .map((e) => `${e.file}: ${e.from} imports ${e.to} (${e.specifier})`);
  assert.deepEqual(upwards, [], `imports against the layering:\n${upwards.join('\n')}`);
});
