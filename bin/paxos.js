#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI so `npm install` (which
// builds through `prepare`) is all a user needs before `npx paxos`.
import { main } from '../dist/src/cli/main.js';

// `paxos sim | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 70; },
);
