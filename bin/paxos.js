#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI so `npm install` (which
// builds through `prepare`) is all a user needs before `npx paxos`.
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 70; },
);
