/**
 * What paxos writes that quotes the values a cluster saw is readable by its
 * owner only: a `paxos check` results folder (0700, its files 0600) and a
 * run's trace (`up --trace`: the parts folder 0700, the merged file 0600),
 * whatever the umask.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { bin, paxos, succeeds } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

test('paxos check writes its results private to the user, even under umask 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-private-check-'));
  try {
    const out = join(dir, 'results', 'run-1');
    // umask 0 would leave every file 0666 and folder 0777 unless paxos asks for less.
    const r = await execa(
      'sh',
      ['-c', `umask 000 && exec "${process.execPath}" "${bin}" check -n 1 --time 1s --clients 1 --out "${out}" --json`],
      {
        cwd: repoRoot(),
        env: { ...process.env, PAXOS_HOME: dir },
        reject: false,
        timeout: 120_000,
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(mode(out), 0o700);
    assert.equal(mode(join(dir, 'results')), 0o700, 'a folder made on the way is private too');
    const files = readdirSync(out).filter((f) => statSync(join(out, f)).isFile());
    assert.ok(files.includes('history.jsonl') && files.includes('timeline.html'), files.join(' '));
    for (const f of files) assert.equal(mode(join(out, f)), 0o600, f);
  } finally {
    // The check's replicas may still be writing their last marks as they exit: retry rather than race them.
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
});

test('a run traced with up --trace leaves a private trace and parts folder', async () => {
  const home = mkdtempSync(join(tmpdir(), 'paxos-private-trace-'));
  const trace = join(home, 'run.trace.jsonl');
  try {
    await execa('sh', ['-c', `umask 000 && exec "${process.execPath}" "${bin}" up -n 1 --detach --trace "${trace}"`], {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: home },
      timeout: 30_000,
    });
    await succeeds(home, 'propose', 'x=1');
    assert.equal(mode(`${trace}.parts`), 0o700);
    for (const f of readdirSync(`${trace}.parts`)) assert.equal(mode(join(`${trace}.parts`, f)), 0o600, f);
    await succeeds(home, 'down');
    assert.equal(mode(trace), 0o600);
  } finally {
    await paxos(home, 'down');
    rmSync(home, { recursive: true, force: true });
  }
});
