/**
 * What the CLI reads back from disk is checked by the valibot schemas: a
 * malformed cluster record or template gives one sentence naming the file
 * and the field, never a crash or an "internal error". Each test works in
 * its own temporary directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ClusterRecord, readRecord, writeRecord } from '../../src/cluster/record.js';
import { loadTemplate, templateNames } from '../../src/cluster/templates.js';
import { OperatingError, UsageError } from '../../src/errors.js';

const GOOD: ClusterRecord = {
  version: 1,
  protocol: 'multi',
  clusterSize: 1,
  host: '127.0.0.1',
  secret: 's3cret',
  orchestratorPid: 4242,
  controlSocket: '/tmp/home/control.sock',
  replicas: [{ id: 1, port: 40001, dataDir: '/tmp/d', logFile: '/tmp/l', pid: null }],
  startedAtMs: 1,
};

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-schemas-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line, no stack, naming the file and matching `field`. */
function assertSentence(err: unknown, cls: new (...a: never[]) => Error, file: string, field: RegExp): true {
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${String(err)}`);
  assert.equal(err.message.includes('\n'), false, err.message);
  assert.ok(err.message.includes(file), `${err.message} does not name ${file}`);
  assert.match(err.message, field);
  return true;
}

test('a well-formed cluster record reads back as written, and a missing one is null', () => {
  withDir((home) => {
    assert.equal(readRecord(home), null);
    writeRecord(GOOD, home);
    assert.deepEqual(readRecord(home), GOOD);
  });
});

test('a malformed cluster.json is one sentence naming the file and the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...GOOD, protocol: 'raft' }, /protocol is invalid/],
    [{ ...GOOD, orchestratorPid: 'x' }, /orchestratorPid is invalid/],
    [{ ...GOOD, replicas: [{ ...GOOD.replicas[0], port: 70000 }] }, /replicas\[0\]\.port is invalid/],
    [{ ...GOOD, secret: undefined }, /secret is invalid/],
    [{ ...GOOD, version: 2 }, /version is invalid/],
    ['a string', /cluster is invalid|top level/],
  ];
  for (const [cluster, field] of cases) {
    withDir((home) => {
      const file = join(home, 'cluster.json');
      writeFileSync(file, JSON.stringify({ cluster }));
      assert.throws(
        () => readRecord(home),
        (err) => assertSentence(err, OperatingError, file, field),
      );
    });
  }
});

test('a cluster.json that is not JSON is one sentence, not a SyntaxError', () => {
  withDir((home) => {
    const file = join(home, 'cluster.json');
    writeFileSync(file, '{"cluster": {"version": 1,');
    assert.throws(
      () => readRecord(home),
      (err) => assertSentence(err, OperatingError, file, /not valid JSON/),
    );
  });
});

test('the shipped templates all pass the schema', () => {
  for (const name of templateNames()) assert.equal(loadTemplate(name).name, name);
  assert.deepEqual(loadTemplate('lossy').net, { delayMs: { min: 10, max: 200 }, dropRate: 0.05 });
});

test('a malformed template is one sentence naming the file and the field', () => {
  const cases: [string, RegExp][] = [
    ['{"nodes": 0}', /nodes is invalid/],
    ['{"nodes": "five"}', /nodes is invalid/],
    ['{"protocol": "raft"}', /protocol is invalid/],
    ['{"node": 5}', /node is not a known field/],
    ['{"net": {"delay": 5}}', /net\.delay is invalid/],
    ['{"net": {"delay": "soon"}}', /net\.delay is invalid/],
    ['{"net": {"drop": "lots"}}', /net\.drop is invalid/],
    ['{"description": ', /not valid JSON/],
    ['[1, 2]', /top level is invalid/],
    ['null', /top level is invalid/],
  ];
  for (const [text, field] of cases) {
    withDir((dir) => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      assert.throws(
        () => loadTemplate('bad', dir),
        (err) => assertSentence(err, UsageError, file, field),
        text,
      );
    });
  }
});

test('orchestrator requests are checked before they are acted on, with one sentence naming the field', async () => {
  const { OrchestratorRequestSchema, parseOrThrow } = await import('../../src/cluster/schemas.js');
  const parse = (x: unknown) => parseOrThrow(OrchestratorRequestSchema, x, 'the request', (s) => new Error(s));
  assert.deepEqual(parse({ op: 'kill', node: 2 }), { op: 'kill', node: 2 });
  assert.deepEqual(parse({ op: 'net', delayMs: { min: 10, max: 200 }, dropRate: 0.05 }), {
    op: 'net',
    delayMs: { min: 10, max: 200 },
    dropRate: 0.05,
  });
  assert.deepEqual(parse({ op: 'partition', groups: [[1, 2], [3]] }), { op: 'partition', groups: [[1, 2], [3]] });
  assert.throws(() => parse({ op: 'kill', node: '2; rm -rf /' }), /^Error: the request: node is invalid/);
  assert.throws(() => parse({ op: 'kill', node: 0 }), /node is invalid/);
  assert.throws(() => parse({ op: 'net', delayMs: { min: 300, max: 10 } }), /delay range runs from min up to max/);
  assert.throws(() => parse({ op: 'net', dropRate: 2 }), /dropRate is invalid/);
  assert.throws(() => parse({ op: 'partition', groups: 'all' }), /groups is invalid/);
  assert.throws(() => parse({ op: 'nope' }), /op is invalid/);
  assert.throws(() => parse({ op: 'register', node: 1, port: 99999, pid: 10 }), /port is invalid/);
});
