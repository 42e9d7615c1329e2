/**
 * Bounded log files: the rotating writer keeps a log within maxBytes per
 * file and keepFiles old files, rotating at line boundaries, and drops
 * (counting) rather than buffers without bound; the reader reads a tail and
 * follows across rotations without repeating or losing a line. Nothing here
 * waits on a clock: writes are awaited with flush(), and following is driven
 * by explicit polls.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { lastLine } from '../../src/cluster/home.js';
import {
  LogFollower,
  openRotatingLog,
  pipeToRotatingLog,
  type RotatingLog,
  RotatingLogs,
  readLogTail,
} from '../../src/cluster/log-files.js';
import { OperatingError } from '../../src/errors.js';

async function withDir(f: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-log-files-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Line `i`, exactly 30 bytes with its newline, so that sizes are easy to reason about. */
function line(i: number): string {
  return `line ${String(i).padStart(4, '0')} ${'.'.repeat(19)}\n`;
}

function lines(from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += line(i);
  return out;
}

function read(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function writeLines(log: RotatingLog, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) log.write(line(i));
  await log.flush();
}

test('the log rotates before it would pass maxBytes, at a line boundary, and keeps only keepFiles old files', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 2 });
    await writeLines(log, 0, 10);
    await log.close();
    // Three 30-byte lines fit in 100 bytes; ten lines make four files, of which the oldest (lines 0-2) is deleted.
    assert.equal(read(`${file}.2`), lines(3, 6));
    assert.equal(read(`${file}.1`), lines(6, 9));
    assert.equal(read(file), lines(9, 10));
    assert.equal(existsSync(`${file}.3`), false);
  });
});

test('a log appended to by a second writer (the next `up`) counts the size already in the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    writeFileSync(file, lines(0, 3));
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 1 });
    await writeLines(log, 3, 4);
    await log.close();
    assert.equal(read(`${file}.1`), lines(0, 3));
    assert.equal(read(file), line(3));
  });
});

test('several lines in one chunk are split at the last line that fits', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 3 });
    log.write(lines(0, 7));
    await log.close();
    assert.equal(read(`${file}.2`), lines(0, 3));
    assert.equal(read(`${file}.1`), lines(3, 6));
    assert.equal(read(file), lines(6, 7));
  });
});

test('a line longer than maxBytes is written whole into a file of its own; only one past twice maxBytes is cut', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 3 });
    const long = `${'x'.repeat(149)}\n`;
    log.write(line(0));
    log.write(long);
    log.write(line(1));
    await log.flush();
    assert.equal(read(`${file}.2`), line(0));
    assert.equal(read(`${file}.1`), long);
    assert.equal(read(file), line(1));
    // A process that writes without newlines cannot grow one file without bound.
    log.write('y'.repeat(250));
    await log.close();
    for (const f of [file, `${file}.1`, `${file}.2`, `${file}.3`])
      assert.ok(!existsSync(f) || statSync(f).size <= 200, `${f} is ${statSync(f).size} bytes`);
  });
});

test('a line written in two chunks stays in one file even when the second chunk passes maxBytes', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 3 });
    log.write(lines(0, 3));
    log.write('half '); // 95 bytes: it fits.
    log.write('and the rest\nnext\n'); // The rest of the line takes the file to 108 bytes before it rotates.
    await log.close();
    assert.equal(read(`${file}.1`), `${lines(0, 3)}half and the rest\n`);
    assert.equal(read(file), 'next\n');
  });
});

test('writes that outpace the disk are dropped past maxQueuedBytes, counted, and noted in the file where the gap is', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const log = openRotatingLog({ file, maxBytes: 1_000_000, keepFiles: 1, maxQueuedBytes: 300 });
    // All of these are written before the disk can take any, so at most maxQueuedBytes (plus the one write in flight) are kept.
    for (let i = 0; i < 100; i++) log.write(line(i));
    assert.ok(log.droppedBytes >= 100 * 30 - 330, `dropped only ${log.droppedBytes} bytes`);
    await log.flush();
    log.write('after the gap\n');
    await log.close();
    const text = read(file)
      .split('\n')
      .filter((l) => l !== '');
    const kept = text.filter((l) => l.startsWith('line '));
    assert.equal(kept.length * 30 + log.droppedBytes, 100 * 30);
    assert.deepEqual(kept, lines(0, kept.length).trimEnd().split('\n'));
    assert.match(
      text[kept.length],
      new RegExp(`the log dropped ${log.droppedBytes} bytes in ${100 - kept.length} writes`),
    );
    assert.equal(text[kept.length + 1], 'after the gap');
  });
});

test('drops at the very end are noted when the log is closed', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const log = openRotatingLog({ file, maxBytes: 1_000_000, keepFiles: 1, maxQueuedBytes: 60 });
    for (let i = 0; i < 10; i++) log.write(line(i));
    await log.close();
    assert.match(read(file).trimEnd().split('\n').pop()!, /the log dropped \d+ bytes/);
  });
});

test('PAXOS_LOG_MAX_BYTES sets the default size, and a bad value is one sentence', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const saved = process.env.PAXOS_LOG_MAX_BYTES;
    try {
      process.env.PAXOS_LOG_MAX_BYTES = '60';
      const log = openRotatingLog({ file, keepFiles: 1 });
      await writeLines(log, 0, 3);
      await log.close();
      assert.equal(read(`${file}.1`), lines(0, 2));
      process.env.PAXOS_LOG_MAX_BYTES = 'lots';
      assert.throws(
        () => openRotatingLog({ file }),
        (err) => err instanceof OperatingError && /PAXOS_LOG_MAX_BYTES must be a whole number/.test(err.message),
      );
    } finally {
      if (saved === undefined) delete process.env.PAXOS_LOG_MAX_BYTES;
      else process.env.PAXOS_LOG_MAX_BYTES = saved;
    }
  });
});

test('stdout and stderr piped into one log both land in it, and a stream ending mid-line ends the line', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-1.log');
    const logs = new RotatingLogs({ maxBytes: 1000, keepFiles: 1 });
    const log = logs.open(file);
    assert.equal(logs.open(file), log, 'one writer per file');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    pipeToRotatingLog(stdout, log);
    pipeToRotatingLog(stderr, log);
    const ended = (s: PassThrough) => new Promise((resolve) => s.once('end', resolve));
    const stderrEnded = ended(stderr);
    const stdoutEnded = ended(stdout);
    stdout.write('out 1\n');
    stderr.end('err without newline');
    await stderrEnded;
    stdout.end('out 2\n');
    await stdoutEnded;
    await logs.closeAll();
    assert.equal(read(file), 'out 1\nerr without newline\nout 2\n');
  });
});

// ------------------------------------------------------------------ reading

test('the tail spans the rotated file and the current one, in order', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 3 });
    await writeLines(log, 0, 8);
    await log.close();
    // Files now: .2 = 0-2, .1 = 3-5, current = 6-7.
    assert.equal(readLogTail({ file, lines: 1 }).text, lines(7, 8));
    assert.equal(readLogTail({ file, lines: 2 }).text, lines(6, 8));
    assert.equal(readLogTail({ file, lines: 5 }).text, lines(3, 8));
    assert.equal(readLogTail({ file, lines: 7 }).text, lines(1, 8));
    assert.equal(readLogTail({ file, lines: 500 }).text, lines(0, 8));
  });
});

test('the tail of a long log reads back in blocks and still returns exact lines', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(`${file}.1`, lines(0, 5000));
    writeFileSync(file, lines(5000, 5003));
    assert.equal(readLogTail({ file, lines: 4003 }).text, lines(1000, 5003));
  });
});

test('the tail leaves a line still being written out, and following picks it up once it is complete', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(file, `${lines(0, 2)}half`);
    const tail = readLogTail({ file, lines: 10 });
    assert.equal(tail.text, lines(0, 2));
    assert.equal(tail.partial, 'half');
    const follower = new LogFollower(file, tail.end);
    assert.equal(follower.poll(), '');
    appendFileSync(file, ' done\n');
    assert.equal(follower.poll(), 'half done\n');
  });
});

test('the tail of a log with no file is empty and has no position', async () => {
  await withDir((dir) => {
    const tail = readLogTail({ file: join(dir, 'none.log'), lines: 10 });
    assert.deepEqual(tail, { text: '', partial: '', end: null });
  });
});

test('following continues across a rotation that happens mid-follow: nothing twice, nothing lost', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    const log = openRotatingLog({ file, maxBytes: 100, keepFiles: 3 });
    await writeLines(log, 0, 2);
    const tail = readLogTail({ file, lines: 50 });
    assert.equal(tail.text, lines(0, 2));
    const follower = new LogFollower(file, tail.end);
    let seen = tail.text;
    // Line 2 lands in the file being followed; line 3 rotates it to .1 and starts the new file.
    await writeLines(log, 2, 4);
    seen += follower.poll();
    assert.equal(seen, lines(0, 4));
    // Two rotations between polls: the follower reads the rest of .2, all of .1 and the current file.
    await writeLines(log, 4, 11);
    seen += follower.poll();
    assert.equal(seen, lines(0, 11));
    assert.equal(follower.poll(), '');
    await log.close();
  });
});

test('following survives a rotation done by hand (rename, then a new file) and a truncation', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(file, lines(0, 2));
    const follower = new LogFollower(file, readLogTail({ file, lines: 1 }).end);
    appendFileSync(file, line(2));
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, line(3)); // A last write that reached the old file after the rename.
    writeFileSync(file, line(4));
    assert.equal(follower.poll(), lines(2, 5));
    writeFileSync(file, 'short\n'); // Truncated in place and rewritten: now shorter than the position.
    assert.equal(follower.poll(), 'short\n');
  });
});

test('a follower that fell far behind catches up in bounded steps, in order', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(`${file}.1`, lines(0, 100));
    writeFileSync(file, lines(100, 200));
    const follower = new LogFollower(file, null, 1000);
    let seen = '';
    for (let i = 0; i < 100 && seen.length < 200 * 30; i++) {
      const got = follower.poll();
      assert.ok(got.length <= 1000 + 1, `one poll returned ${got.length} bytes`);
      seen += got;
    }
    assert.equal(seen, lines(0, 200));
  });
});

test('lastLine finds the last words in the rotated file when the current one has just been started', async () => {
  await withDir((dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(
      `${file}.1`,
      '2026-11-25T12:00:00.000Z started\n2026-11-25T12:00:01.000Z paxos: the data directory is locked\n\n',
    );
    writeFileSync(file, '');
    assert.equal(lastLine(file), 'the data directory is locked');
    writeFileSync(file, 'died mid-line');
    assert.equal(lastLine(file), 'died mid-line');
    assert.equal(lastLine(join(dir, 'none.log')), `see ${join(dir, 'none.log')}`);
  });
});

test('with the current file missing (rotated away a moment ago) the tail comes from .1 and following goes on into the new file', async () => {
  await withDir((dir) => {
    const file = join(dir, 'node-2.log');
    writeFileSync(`${file}.1`, lines(0, 3));
    const tail = readLogTail({ file, lines: 2 });
    assert.equal(tail.text, lines(1, 3));
    const follower = new LogFollower(file, tail.end);
    writeFileSync(file, line(3));
    assert.equal(follower.poll(), line(3));
  });
});
