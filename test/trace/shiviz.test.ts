/** ShiViz logs: the vector clocks of a three-message ring, the file layout ShiViz reads, and the regex matching every line. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTrace } from '../../src/trace/format.js';
import { formatClock, renderShiviz, SHIVIZ_REGEX, vectorClocks } from '../../src/trace/shiviz.js';
import { recording, walkthrough } from './fixture.js';

/** node-1 → node-2 → node-3 → node-1, each message delivered before the next is sent. */
function ring() {
  const { lines, recorder: r, at } = recording();
  for (let i = 0; i < 3; i++) {
    at(i);
    const from = i + 1;
    const to = ((i + 1) % 3) + 1;
    r.deliver(r.send({ from, to, type: 'prepare', ballot: { round: 1, node: 1 } }), to);
  }
  return readTrace(lines.join('\n'));
}

test("vector clocks for three messages: each replica ticks its own entry and takes the sender's clock on delivery", () => {
  const clocks = vectorClocks(ring()).map((l) => `node-${l.node} ${formatClock(l.clock)}`);
  assert.deepEqual(clocks, [
    'node-1 {"node-1":1}',
    'node-2 {"node-1":1,"node-2":1}',
    'node-2 {"node-1":1,"node-2":2}',
    'node-3 {"node-1":1,"node-2":2,"node-3":1}',
    'node-3 {"node-1":1,"node-2":2,"node-3":2}',
    'node-1 {"node-1":2,"node-2":2,"node-3":2}',
  ]);
});

test('the file starts with the regex and an empty delimiter line, and the regex parses every line after', () => {
  const text = renderShiviz(walkthrough());
  const [regex, delimiter, ...log] = text.trimEnd().split('\n');
  assert.equal(regex, SHIVIZ_REGEX);
  assert.equal(delimiter, '');
  // ShiViz's named groups are JavaScript's, so the expression can be checked here as ShiViz will use it.
  const parse = new RegExp(`^${SHIVIZ_REGEX}$`);
  const own = new Map<string, number>();
  for (const line of log) {
    const m = parse.exec(line);
    assert.ok(m?.groups, `ShiViz's regex does not parse: ${line}`);
    const clock = JSON.parse(m.groups.clock) as Record<string, number>;
    const next = (own.get(m.groups.host) ?? 0) + 1;
    assert.equal(clock[m.groups.host], next, `${m.groups.host}'s own entry counts its events from 1: ${line}`);
    own.set(m.groups.host, next);
  }
  assert.match(log.at(-1)!, /^node-2 \{[^}]*\} chosen x=7 \(1\.3\)$/);
});
