#!/usr/bin/env node
// Thin launcher: everything lives in the compiled CLI so `npm install` (which
// builds through `prepare`) is all a user needs before `npx paxos`.
// React (under Ink) runs its slow development build unless told otherwise; the
// dashboard must not take CPU from the replicas. Set before React loads.
process.env.NODE_ENV ??= 'production';
const { main } = await import('../dist/src/cli/main.js');

// `paxos sim | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 70; },
);
