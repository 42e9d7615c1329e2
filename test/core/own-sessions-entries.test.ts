/**
 * What a snapshot keeps of replicas' own sessions (src/core/multi/own-sessions.ts): `entries()` lists exactly the
 * remembered commands, in the order they were recorded, with their fields in the order a snapshot writes them. A
 * snapshot is compared part for part between replicas and against golden digests, so a change of order, content or
 * key order is a change of behaviour; each check here compares the JSON text, not only the values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnSessions } from '../../src/core/multi/own-sessions.js';
import type { SessionEntry } from '../../src/core/multi/sessions.js';
import { SessionTable } from '../../src/core/multi/sessions.js';

type Admission = { identity: { session: string; seq: number }; command: string; base: number; slot: number };

/**
 * The table written the plain way: every recorded command in one list, in the order it was recorded; an admission
 * first drops the commands at the front applied more than the horizon before it, then looks the identity up.
 */
class Reference {
  log: SessionEntry[] = [];
  constructor(private readonly horizon: number) {}

  admit(o: Admission): string {
    while (this.log[0] !== undefined && this.log[0].slot < o.slot - this.horizon) this.log.shift();
    const known = this.log.find((e) => e.session === o.identity.session && e.seq === o.identity.seq);
    if (known !== undefined) return known.command === o.command ? 'duplicate' : 'identity-reused';
    if (o.slot - o.base > this.horizon) return 'expired';
    this.log.push({ session: o.identity.session, seq: o.identity.seq, slot: o.slot, command: o.command });
    return 'apply';
  }
}

const text = (entries: readonly SessionEntry[]) => JSON.stringify(entries);
const entry = (session: string, seq: number, slot: number, command: string): SessionEntry => ({
  session,
  seq,
  slot,
  command,
});
const admission = (session: string, seq: number, slot: number, base = slot, command = `c${seq}`): Admission => ({
  identity: { session, seq },
  command,
  base,
  slot,
});

test('entries lists the remembered commands oldest first, through evictions, a clear and a restore', () => {
  const own = new OwnSessions(4);
  for (let slot = 1; slot <= 6; slot++) own.admit(admission(slot % 2 === 0 ? 'n1-a' : 'n2-b', slot, slot));
  // Slot 6 forgets what was applied more than 4 slots before it: slot 1.
  const afterSix = [2, 3, 4, 5, 6].map((s) => entry(s % 2 === 0 ? 'n1-a' : 'n2-b', s, s, `c${s}`));
  assert.equal(text(own.entries()), text(afterSix));
  // Slot 7 forgets slot 2 before it looks the retry up.
  assert.equal(own.admit(admission('n1-a', 4, 7, 4)).kind, 'duplicate');
  assert.equal(own.admit(admission('n1-a', 4, 7, 4, 'other')).kind, 'identity-reused');
  assert.equal(text(own.entries()), text(afterSix.slice(1)), 'a retry records nothing');
  own.clear();
  assert.equal(text(own.entries()), '[]');
  assert.equal(own.size(), 0);
  // A snapshot's entries, restored as given; the next admission evicts from their front.
  const restored = [entry('n3-c', 9, 20, 'x'), entry('n1-a', 10, 21, 'y'), entry('n3-c', 11, 23, 'z')];
  for (const e of restored) own.restore({ ...e });
  assert.equal(text(own.entries()), text(restored));
  own.admit(admission('n1-a', 12, 25));
  assert.equal(text(own.entries()), text([...restored.slice(1), entry('n1-a', 12, 25, 'c12')]));
});

test('a restored entry is listed with only its own fields, in the order a snapshot writes them', () => {
  const own = new OwnSessions(100);
  // As parsed from a file or a peer: another key order and a field a snapshot does not have.
  const parsed = JSON.parse('{"command":"c","extra":1,"slot":5,"seq":3,"session":"n1-a"}') as SessionEntry;
  own.restore(parsed);
  assert.equal(text(own.entries()), '[{"session":"n1-a","seq":3,"slot":5,"command":"c"}]');
});

test('entries gives a new list each time: what the caller adds to it is not remembered', () => {
  const table = new SessionTable({ capacity: 4, horizonSlots: 100 });
  table.admit({ identity: { session: 'n1-a', seq: 1 }, command: { op: 'register' }, base: 1, slot: 1 });
  table.admit({ identity: { session: '1', seq: 1 }, command: { op: 'set', key: 'k', value: 'v' }, base: 2, slot: 2 });
  table.admit({
    identity: { session: 'n1-a', seq: 2 },
    command: { op: 'set', key: 'k', value: 'w' },
    base: 3,
    slot: 3,
  });
  const first = text(table.entries().applied);
  assert.equal(text(table.entries().applied), first, 'the registered session is listed once, after the own ones');
  assert.equal(JSON.parse(first).length, 3);
  assert.equal(table.size(), 3);
});

/** A small deterministic generator (mulberry32), so a failure names the seed that shows it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The next admission of a run: mostly new commands, some retries (same or other command) and some made long ago. */
function nextAdmission(r: () => number, slot: number, horizon: number, seqs: number[]): Admission {
  const s = Math.floor(r() * seqs.length);
  const session = `n${s + 1}-x`;
  const roll = r();
  if (roll < 0.15 && (seqs[s] ?? 0) > 0) {
    const seq = 1 + Math.floor(r() * (seqs[s] ?? 1));
    return admission(session, seq, slot, slot - Math.floor(r() * horizon), r() < 0.8 ? `c${seq}` : 'other');
  }
  const seq = (seqs[s] ?? 0) + 1;
  seqs[s] = seq;
  const late = roll < 0.25 ? horizon + 1 + Math.floor(r() * 3) : Math.floor(r() * 3);
  return admission(session, seq, slot, slot - late);
}

test('entries matches the plain list through many admissions, evictions, clears and restores', () => {
  const horizon = 40;
  for (let seed = 1; seed <= 30; seed++) {
    const r = random(seed);
    let own = new OwnSessions(horizon);
    const ref = new Reference(horizon);
    const seqs = [0, 0, 0];
    let slot = 1;
    for (let step = 0; step < 2000; step++) {
      slot += 1 + Math.floor(r() * 2);
      const a = nextAdmission(r, slot, horizon, seqs);
      assert.equal(own.admit(a).kind, ref.admit(a), `seed ${seed} step ${step}`);
      const roll = r();
      if (roll < 0.01) {
        own.clear();
        ref.log = [];
      } else if (roll < 0.03) {
        // A snapshot of this table installed: into a fresh table, or into this one cleared, as a restore does.
        const taken = own.entries().map((e) => ({ ...e }));
        if (r() < 0.5) own = new OwnSessions(horizon);
        else own.clear();
        for (const e of taken) own.restore(e);
      }
      assert.equal(text(own.entries()), text(ref.log), `seed ${seed} step ${step}`);
      assert.equal(own.size(), ref.log.length, `seed ${seed} step ${step}`);
    }
  }
});

test('a restore that names an identity twice lists it twice with the later command, until the first is evicted', () => {
  // No snapshot taken here names one twice; one read from elsewhere is listed as the table always listed it.
  const own = new OwnSessions(10);
  own.restore(entry('n1-a', 1, 5, 'first'));
  own.restore(entry('n2-b', 1, 6, 'b'));
  own.restore(entry('n1-a', 1, 8, 'second'));
  const later = entry('n1-a', 1, 8, 'second');
  assert.equal(text(own.entries()), text([later, entry('n2-b', 1, 6, 'b'), later]));
  assert.equal(own.size(), 3);
  // Slot 16 evicts slot 5 (the first copy), which forgets the identity: its second copy is no longer listed.
  own.admit(admission('n2-b', 2, 16));
  assert.equal(text(own.entries()), text([entry('n2-b', 1, 6, 'b'), entry('n2-b', 2, 16, 'c2')]));
  assert.equal(own.appliedAt({ session: 'n1-a', seq: 1 }), undefined);
  own.clear();
  own.restore(entry('n1-a', 1, 5, 'first'));
  assert.equal(text(own.entries()), text([entry('n1-a', 1, 5, 'first')]), 'a clear starts over');
});
