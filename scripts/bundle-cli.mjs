#!/usr/bin/env node
/**
 * Bundles the compiled command line (dist/src/cli/main.js, from tsc) into
 * dist/cli/: one file for what every command loads (the program, commander,
 * every command's flags) and one chunk per lazily imported service. Loading
 * one file instead of some sixty modules, each resolved, read and linked on
 * its own, is most of what `paxos --help` and `paxos propose` spend before
 * they do anything. bin/paxos.js runs the bundle when it is there and the tsc
 * output otherwise; the replicas, the library and the tests use the tsc
 * output as before.
 *
 * Code that finds files relative to itself (`new URL('../../templates/',
 * import.meta.url)`) keeps working: each module's `import.meta.url` is
 * replaced by the URL of its tsc output, computed from the bundle's own URL,
 * so templates, package.json and the replica's entry point are found where
 * they always were.
 *
 * Run by `npm run build` after tsc.
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'cli');

/** `import.meta.url` in a dist/src file becomes that file's URL, wherever its code lands. */
const keepFileUrls = {
  name: 'keep-file-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = relative(outdir, args.path).split('\\').join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'dist', 'src', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The dashboard's Ink and React stay packages of their own: loaded only by `paxos up` and `paxos ui` on a terminal.
  // ws's optional native helpers are looked up at run time, as ws does without a bundler.
  external: ['ink', 'react', 'react/*', 'react-devtools-core', 'yoga-layout', 'bufferutil', 'utf-8-validate'],
  // commander and ws are CommonJS: their require() of node: modules needs a real require in an ES module.
  banner: {
    js: "import { createRequire as __paxosCreateRequire } from 'node:module'; const require = __paxosCreateRequire(import.meta.url);",
  },
  // Every chunk beside main.js: the rewritten import.meta.url above is relative to this one folder.
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [keepFileUrls],
});
