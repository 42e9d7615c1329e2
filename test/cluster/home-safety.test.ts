/**
 * A home nobody else can subvert: paxos refuses a home another user owns or
 * can write (as ssh's StrictModes refuses a ~/.ssh), never follows a link
 * planted at its record, its logs directory or a log, creates its record,
 * logs and traces private to the user, keeps values out of the detached
 * orchestrator's log, resolves a relative PAXOS_HOME, and `status` creates
 * nothing. The two-user cases run as root, handing a directory to another
 * uid (nobody, 65534); they are skipped, saying so, for other users.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { PlainEventPrinter } from '../../src/cli/format.js';
import { paxosHome } from '../../src/cluster/home.js';
import { openRotatingLog, readLogTail } from '../../src/cluster/log-files.js';
import { type ClusterRecord, readRecord, writeRecord } from '../../src/cluster/record.js';
import { OperatingError } from '../../src/errors.js';
import { bin, paxos, succeeds } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { repoRoot } from '../support/paths.js';

const asRoot = process.getuid?.() === 0;
const OTHER_UID = 65534;

async function withDir(f: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-home-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RECORD: ClusterRecord = {
  version: 1,
  clusterSize: 1,
  protocol: 'multi',
  host: '127.0.0.1',
  controlSocket: '/h/control.sock',
  orchestratorPid: 1,
  secret: 'a'.repeat(64),
  startedAtMs: 0,
  replicas: [{ id: 1, port: 2, dataDir: '/d', logFile: '/l', pid: null }],
} as unknown as ClusterRecord;

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test('status in a home that does not exist says no cluster runs and creates nothing', async () => {
  await withDir(async (dir) => {
    const home = join(dir, 'not-yet');
    const r = await paxos(home, 'status');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /no cluster is running/);
    assert.equal(existsSync(home), false, 'status created the home');
  });
});

test('a relative PAXOS_HOME is resolved against the directory it was given in', () => {
  const before = process.env.PAXOS_HOME;
  try {
    process.env.PAXOS_HOME = 'relative-home';
    assert.equal(paxosHome(), resolve('relative-home'));
    process.env.PAXOS_HOME = '';
    assert.match(paxosHome(), /\.paxos$/, 'an empty PAXOS_HOME means the default, not the working directory');
  } finally {
    if (before === undefined) delete process.env.PAXOS_HOME;
    else process.env.PAXOS_HOME = before;
  }
});

test('a home writable by group or others is refused in one sentence', async () => {
  await withDir(async (home) => {
    chmodSync(home, 0o777);
    const r = await paxos(home, 'status');
    assert.equal(r.exitCode, 1);
    assert.equal(
      r.stderr.trim(),
      `paxos: ${home} can be written by every user (mode 0777), who could plant links in the paxos home; run \`chmod go-w ${home}\` or set PAXOS_HOME to a private directory`,
    );
    chmodSync(home, 0o770);
    assert.match((await paxos(home, 'up', '-n', '1', '--detach')).stderr, /can be written by its group \(mode 0770\)/);
    assert.deepEqual(readdirSync(home), [], 'a refused up wrote nothing');
  });
});

test('a home owned by another user is refused (as root)', {
  skip: asRoot ? false : 'needs root to hand a directory to another uid',
}, async () => {
  await withDir(async (dir) => {
    const home = join(dir, 'eves');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, OTHER_UID, OTHER_UID);
    const r = await paxos(home, 'status');
    assert.equal(r.exitCode, 1);
    assert.equal(
      r.stderr.trim(),
      `paxos: ${home} belongs to another user (uid ${OTHER_UID}, not yours, 0), who could read or replace what paxos keeps there; set PAXOS_HOME to a directory of your own`,
    );
  });
});

test('a cluster.json of another user, or a link, is not believed', {
  skip: asRoot ? false : 'needs root to hand a file to another uid',
}, async () => {
  await withDir(async (home) => {
    writeRecord(RECORD, home);
    chownSync(join(home, 'cluster.json'), OTHER_UID, OTHER_UID);
    assert.throws(
      () => readRecord(home),
      (err) => err instanceof OperatingError && /cluster\.json belongs to another user \(uid 65534\)/.test(err.message),
    );
  });
});

test('a link planted at cluster.json is neither read nor written through', async () => {
  await withDir(async (dir) => {
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    const elsewhere = join(dir, 'eve.json');
    writeFileSync(elsewhere, JSON.stringify({ cluster: RECORD }));
    symlinkSync(elsewhere, join(home, 'cluster.json'));
    assert.throws(
      () => readRecord(home),
      (err) =>
        err instanceof OperatingError && err.message.startsWith(`${join(home, 'cluster.json')} is a symbolic link`),
    );
    const r = await paxos(home, 'status');
    assert.equal(r.exitCode, 1);
    assert.doesNotMatch(r.stderr, /internal error/);
    writeRecord({ ...RECORD, orchestratorPid: 42 }, home);
    assert.equal(lstatSync(join(home, 'cluster.json')).isSymbolicLink(), false, 'the link was written through');
    assert.equal(mode(join(home, 'cluster.json')), 0o600);
    assert.equal(JSON.parse(readFileSync(elsewhere, 'utf8')).cluster.orchestratorPid, 1);
    assert.equal(readRecord(home)?.orchestratorPid, 42);
  });
});

test('a logs directory replaced by a link is refused before anything starts or is written there', async () => {
  await withDir(async (dir) => {
    const home = join(dir, 'home');
    const eves = join(dir, 'eves-folder');
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(eves);
    symlinkSync(eves, join(home, 'logs'));
    const r = await paxos(home, 'up', '-n', '1', '--detach');
    assert.equal(r.exitCode, 1);
    assert.equal(
      r.stderr.trim(),
      `paxos: ${join(home, 'logs')} is a symbolic link, which paxos does not follow in its home (another user may have planted it); remove it and run the command again`,
    );
    assert.deepEqual(readdirSync(eves), []);
    assert.equal(existsSync(join(home, 'cluster.json')), false);
  });
});

test('a log is created 0600 in a 0700 directory, an old 0644 one is made private, and a link at its name is not followed', async () => {
  await withDir(async (dir) => {
    const logs = join(dir, 'logs');
    const log = openRotatingLog({ file: join(logs, 'node-1.log') });
    log.write('one\n');
    await log.close();
    assert.equal(mode(logs), 0o700);
    assert.equal(mode(join(logs, 'node-1.log')), 0o600);

    writeFileSync(join(logs, 'old.log'), 'x\n', { mode: 0o644 });
    chmodSync(join(logs, 'old.log'), 0o644);
    await openRotatingLog({ file: join(logs, 'old.log') }).close();
    assert.equal(mode(join(logs, 'old.log')), 0o600);

    writeFileSync(join(dir, 'eve.txt'), '');
    symlinkSync(join(dir, 'eve.txt'), join(logs, 'planted.log'));
    assert.throws(
      () => openRotatingLog({ file: join(logs, 'planted.log') }),
      (err) => err instanceof OperatingError && /planted\.log is a symbolic link/.test(err.message),
    );
    assert.equal(readFileSync(join(dir, 'eve.txt'), 'utf8'), '');
  });
});

test('the detached orchestrator logs that values were chosen, not the values', () => {
  const printer = new PlainEventPrinter({ hideValues: true });
  const chosen = printer.line({
    type: 'chosen',
    node: 1,
    instance: 'card',
    value: '4111-1111-1111-1111',
    ballot: null,
    atMs: 0,
  });
  assert.match(chosen ?? '', /chosen card=\(19 characters, not logged\)/);
  const proposed = printer.line({
    type: 'core',
    node: 1,
    atMs: 0,
    event: {
      type: 'phase2',
      instance: 'card',
      value: '4111-1111-1111-1111',
      ballot: { round: 1, node: 1 },
      adopted: false,
    },
  } as never);
  assert.doesNotMatch(proposed ?? '', /4111/);
  assert.match(
    new PlainEventPrinter().line({ type: 'chosen', node: 1, instance: 'x', value: '7', ballot: null, atMs: 0 }) ?? '',
    /chosen x=7/,
    'a terminal still shows values',
  );
});

test('a real detached cluster: its logs are private and its orchestrator log holds no value', async () => {
  await withDir(async (home) => {
    try {
      await succeeds(home, 'up', '-n', '1', '--detach');
      await succeeds(home, 'propose', 'card=4111-1111-1111-1111');
      // The replica reports the choice to the orchestrator on its own time, after the client's answer:
      // wait for that line (bounded) before stopping, or a loaded machine loses the race.
      const logPath = join(home, 'logs', 'orchestrator.log');
      await eventually(() => /chosen #1/.test(readFileSync(logPath, 'utf8')), 15_000);
      await succeeds(home, 'down');
      const orchestratorLog = readFileSync(join(home, 'logs', 'orchestrator.log'), 'utf8');
      assert.match(orchestratorLog, /chosen #1 \(\d+ characters, not logged\)/);
      assert.doesNotMatch(orchestratorLog, /4111/);
      assert.equal(mode(join(home, 'logs')), 0o700);
      for (const f of readdirSync(join(home, 'logs'))) assert.equal(mode(join(home, 'logs', f)), 0o600, f);
      assert.equal(mode(home), 0o700);
    } finally {
      await execa(process.execPath, [bin, 'down'], {
        cwd: repoRoot(),
        env: { ...process.env, PAXOS_HOME: home },
        reject: false,
      });
    }
  });
});

test('paxos logs reads no log through a link: a linked logs directory is refused, a linked log file is not read', async () => {
  await withDir(async (dir) => {
    const home = join(dir, 'home');
    const eves = join(dir, 'eves-folder');
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(eves);
    writeFileSync(join(eves, 'node-1.log'), 'planted line\n');
    symlinkSync(eves, join(home, 'logs'));
    const refused = await paxos(home, 'logs', 'node-1');
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /logs is a symbolic link, which paxos does not follow/);

    rmSync(join(home, 'logs'));
    mkdirSync(join(home, 'logs'), { mode: 0o700 });
    symlinkSync(join(eves, 'node-1.log'), join(home, 'logs', 'node-1.log'));
    const r = await paxos(home, 'logs', 'node-1');
    assert.doesNotMatch(r.stdout, /planted/);
    assert.deepEqual(readLogTail({ file: join(home, 'logs', 'node-1.log'), lines: 5 }).text, '');
  });
});
