// Regenerates docs/walkthrough-000.svg with the ballot mapping stated in full (`paxos trace --svg` has no caption flag yet):
//   paxos scenario run 000-duelling-proposers --sim --trace walkthrough-000.jsonl
//   npm run build && node docs/walkthrough-000.mjs walkthrough-000.jsonl docs/walkthrough-000.svg
import { readFileSync, writeFileSync } from 'node:fs';
import { readTrace } from '../dist/src/trace/format.js';
import { renderSvg } from '../dist/src/trace/svg.js';

const [input = 'walkthrough-000.jsonl', output = 'docs/walkthrough-000.svg'] = process.argv.slice(2);
const caption = "Ballots: the article's 1000 is 1.1 here and its 2000 is 1.3. A ballot r.n is round r proposed by node-n, "
  + 'compared by round and then by node, so 1.3 (round 1, node-3, proposer 2) beats 1.1 (round 1, node-1, proposer 1) just as 2000 beats 1000.';
writeFileSync(output, renderSvg(readTrace(readFileSync(input, 'utf8'), 'walkthrough-000.jsonl'), { title: 'walkthrough-000.jsonl', caption }));
