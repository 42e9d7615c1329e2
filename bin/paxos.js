#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI so `npm install` (which
// builds through `prepare`) is all a user needs before `npx paxos`.
import { readFileSync, statSync } from 'node:fs';

// `paxos --version` answers before anything else loads: a script that checks
// the version should not wait for the whole command line to start.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {}
  process.stdout.write(`${version}\n`);
} else {
  // React (under Ink) runs its slow development build unless told otherwise; the
  // dashboard must not take CPU from the replicas. Set before React loads.
  process.env.NODE_ENV ??= 'production';
  // The bundle `npm run build` makes of tsc's output (scripts/bundle-cli.mjs) starts in a
  // fraction of the time. Without one, or with one older than tsc's output (a `tsc` run
  // alone since), tsc's modules run as they are. (npm gives a package's files one mtime.)
  const bundle = new URL('../dist/cli/main.js', import.meta.url);
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  const fresh = () => {
    try {
      return statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
    } catch {
      return false;
    }
  };
  const { main } = await import(fresh() ? bundle.href : compiled.href);

  // `paxos sim | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err);
      process.exitCode = 70;
    },
  );
}
