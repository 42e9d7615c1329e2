/** The Mermaid sequence diagram of a tiny trace, compared with the text it should be, and its escaping of Mermaid syntax. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTrace } from '../../src/trace/format.js';
import { mermaidText, renderMermaid } from '../../src/trace/mermaid.js';
import { recording, walkthrough } from './fixture.js';

test('a tiny trace: delivered messages as ->>, a drop as -x, faults and chosen values as notes', () => {
  const { lines, recorder: r, at } = recording();
  r.note('node-1 proposes x=7');
  const a = r.send({ from: 1, to: 2, type: 'accept', ballot: { round: 2, node: 1 }, key: 'x', value: '7' });
  const b = r.send({ from: 1, to: 3, type: 'accept', ballot: { round: 2, node: 1 }, key: 'x', value: '7' });
  at(1);
  r.persist(2, 'accept 2.1 x=7');
  r.deliver(a, 2);
  r.drop(b, 'partitioned');
  r.crash(3);
  const c = r.send({ from: 2, to: 1, type: 'accepted', ballot: { round: 2, node: 1 }, key: 'x' });
  at(2);
  r.deliver(c, 1);
  r.chosen({ node: 1, instance: 'x', value: '7', ballot: { round: 2, node: 1 } });
  r.restart(3);
  assert.equal(
    renderMermaid(readTrace(lines.join('\n'))),
    [
      'sequenceDiagram',
      '  participant n1 as node-1',
      '  participant n2 as node-2',
      '  participant n3 as node-3',
      '  Note over n1,n3: node-1 proposes x=7',
      '  n1->>n2: accept 2.1 x=7',
      '  n1-xn3: accept 2.1 x=7 (dropped: partitioned)',
      '  Note over n3: crash',
      '  n2->>n1: accepted 2.1 x',
      '  Note over n1: chosen x=7 (2.1)',
      '  Note over n3: restart',
      '',
    ].join('\n'),
  );
});

test('the walk-through has one arrow per delivery and x=7 chosen on each replica', () => {
  const text = renderMermaid(walkthrough());
  assert.equal([...text.matchAll(/^ {2}n\d->>n\d: /gm)].length, 14);
  assert.equal([...text.matchAll(/: chosen x=7 \(1\.3\)$/gm)].length, 3);
});

test('trace text cannot become Mermaid syntax: ; # < > & % are entities, a newline is an escape', () => {
  assert.equal(mermaidText('a;b#c<br>d&e%%f\ng'), 'a#59;b#35;c#60;br#62;d#38;e#37;#37;f\\ng');
});
