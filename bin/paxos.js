#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI so `npm install` (which
// builds through `prepare`) is all a user needs before `npx paxos`.
import { existsSync, readFileSync } from 'node:fs';

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
  // The bundle `npm run build` makes (scripts/bundle-cli.mjs) starts in a fraction of
  // the time; a dist/ built by tsc alone has none, and its modules run as they are.
  const bundle = new URL('../dist/cli/main.js', import.meta.url);
  const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js');

  // `paxos sim | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

  main(process.argv).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(err); process.exitCode = 70; },
  );
}
