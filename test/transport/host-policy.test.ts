/**
 * The Host headers a replica accepts: loopback stays as strict as in lab
 * mode; off loopback the bound address, the advertised one and the
 * --allowed-host names pass, and nothing else. And the peer handshake:
 * another cluster, or an id back at a lower incarnation, is refused.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { allowedHosts, checkUpgrade } from '../../src/transport/auth.js';
import { hostHeadersAllowed } from '../../src/transport/host-policy.js';

test('loopback accepts only loopback names, exactly as before', () => {
  assert.deepEqual([...allowedHosts({ host: '127.0.0.1', port: 7001 })].sort(), [
    '127.0.0.1:7001',
    '[::1]:7001',
    'localhost:7001',
  ]);
});

test('bound to an IP: that IP, the advertised name and the allowed names; not another name', () => {
  const ok = hostHeadersAllowed({
    host: '10.0.0.5',
    port: 7001,
    advertised: [{ host: 'node1.example', port: 7001 }],
    extra: ['alias.example', 'lb.example:443', 'fd00::5'],
  });
  for (const h of ['10.0.0.5:7001', 'node1.example:7001', 'alias.example:7001', 'lb.example:443', '[fd00::5]:7001'])
    assert.ok(ok.has(h), h);
  for (const h of ['evil.example:7001', 'localhost:7001', '10.0.0.5:7002']) assert.ok(!ok.has(h), h);
});

test("bound to 0.0.0.0: loopback and this machine's addresses, and the advertised name", () => {
  const ok = hostHeadersAllowed({ host: '0.0.0.0', port: 7001, advertised: [{ host: 'paxos-0.paxos', port: 7001 }] });
  assert.ok(ok.has('127.0.0.1:7001'));
  assert.ok(ok.has('paxos-0.paxos:7001'));
  assert.ok(!ok.has('paxos-1.paxos:7001'));
});

function request(headers: Record<string, string>): IncomingMessage {
  return { url: '/peer', headers } as unknown as IncomingMessage;
}

test('the handshake refuses another cluster and an id back at a lower incarnation', () => {
  const incarnations = new Map<number, number>();
  const policy = {
    secret: 's',
    host: '127.0.0.1',
    port: 7001,
    clusterSize: 3,
    selfId: 1,
    clusterId: 'c1',
    incarnations,
  };
  const peer = (cluster: string, incarnation: string) =>
    checkUpgrade(
      request({
        host: '127.0.0.1:7001',
        authorization: 'Bearer s',
        'x-paxos-node': '2',
        'x-paxos-cluster': cluster,
        'x-paxos-incarnation': incarnation,
      }),
      policy,
    );
  assert.deepEqual(peer('c1', '3'), { ok: true, kind: 'peer', node: 2 });
  const other = peer('c2', '4');
  assert.ok(!other.ok && /belongs to another cluster \(c2, not c1\)/.test(other.reason));
  const older = peer('c1', '1');
  assert.ok(!older.ok && /came back at incarnation 1 after 3 was seen/.test(older.reason));
  assert.deepEqual(peer('c1', '4'), { ok: true, kind: 'peer', node: 2 });
  const missing = checkUpgrade(
    request({ host: '127.0.0.1:7001', authorization: 'Bearer s', 'x-paxos-node': '2' }),
    policy,
  );
  assert.ok(!missing.ok);
});

test('token classes: the peer token opens /peer only once an admin token exists; a client token opens /control as a client', () => {
  const policy = {
    secret: 'peer',
    adminSecret: 'admin',
    clientSecret: 'client',
    host: '127.0.0.1',
    port: 7001,
    clusterSize: 3,
    selfId: 1,
  };
  const at = (url: string, token: string) =>
    checkUpgrade(
      {
        url,
        headers: { host: '127.0.0.1:7001', authorization: `Bearer ${token}`, 'x-paxos-node': '2' },
      } as unknown as IncomingMessage,
      policy,
    );
  assert.deepEqual(at('/control', 'admin'), { ok: true, kind: 'control', role: 'admin' });
  assert.deepEqual(at('/control', 'client'), { ok: true, kind: 'control', role: 'client' });
  const peerOnControl = at('/control', 'peer');
  assert.ok(!peerOnControl.ok && /not a peer token/.test(peerOnControl.reason));
  assert.deepEqual(at('/peer', 'peer'), { ok: true, kind: 'peer', node: 2 });
  for (const token of ['admin', 'client']) assert.equal(at('/peer', token).ok, false, `${token} cannot open /peer`);
  // One secret, as in lab mode: it opens both, with every right, and a wrong one gets the old sentence.
  const one = { ...policy, adminSecret: undefined, clientSecret: undefined };
  const lab = (token: string) =>
    checkUpgrade(
      {
        url: '/control',
        headers: { host: '127.0.0.1:7001', authorization: `Bearer ${token}` },
      } as unknown as IncomingMessage,
      { secret: one.secret, host: one.host, port: one.port, clusterSize: 3 },
    );
  assert.deepEqual(lab('peer'), { ok: true, kind: 'control', role: 'admin' });
  const wrong = lab('nope');
  assert.ok(!wrong.ok && wrong.reason === 'missing or wrong cluster secret');
});
