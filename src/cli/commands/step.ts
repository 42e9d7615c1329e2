/** held, deliver, duplicate, drop and tick: moving a step-mode cluster (`paxos up --step`) by hand. */
import type { Command } from '@commander-js/extra-typings';
import { must } from '../../core/must.js';
import { UsageError } from '../../errors.js';
import { RELEASED, type StepRelease } from '../../node/step.js';
import { parseIntFlag, parseNodeName } from '../parse.js';
import type * as StepService from '../services/step.js';

/** The service, loaded when a command runs: `paxos --help` and the other commands do not pay for it. */
const service = (): Promise<typeof StepService> => import('../services/step.js');

const HELD_ID = /^\d{1,4}:\d{1,15}$/;

/** The ids typed, or 'all' for --all; exactly one of the two. */
function idsOrAll(command: string, ids: readonly string[], all: boolean | undefined): readonly string[] | 'all' {
  if (all === true && ids.length > 0) throw new UsageError(`${command} takes held-message ids or --all, not both`);
  if (all === true) return 'all';
  if (ids.length === 0) throw new UsageError(`${command} needs held-message ids like 1:3 (see paxos held), or --all`);
  const bad = ids.find((id) => !HELD_ID.test(id));
  if (bad !== undefined)
    throw new UsageError(
      `"${bad}" is not a held-message id; ids look like 1:3 (node 1's third held message), as paxos held lists them`,
    );
  return ids;
}

const parseCount = parseIntFlag('the tick count', 1, 10_000);

/** The three commands that act on held messages by id (or --all), in the order help lists them. */
const RELEASES: readonly (readonly [StepRelease, string])[] = [
  ['deliver', 'send held messages on to their receivers'],
  ['duplicate', 'send a copy of held messages on and keep holding them, so each can arrive again later'],
  ['drop', 'lose held messages; they are never delivered'],
];

export function registerStep(program: Command): void {
  program
    .command('held')
    .description(
      'step mode: list the messages replicas hold instead of sending (id, from, to, type, ballot, slot or key, value)',
    )
    .option(
      '--json',
      'print {"messages":[{"id":"1:1","from":1,"to":2,"type":"prepare","ballot":"1.1",…}],"total":1,"droppedFull":0,"down":[]}',
    )
    .action(async (opts) => (await service()).runHeld(opts.json === true));
  for (const [op, description] of RELEASES) {
    program
      .command(op)
      .description(`step mode: ${description}`)
      .argument('[ids...]', 'held-message ids as paxos held lists them, like 1:3')
      .option('--all', `${op} every held message`)
      .option('--json', `print {"${RELEASED[op]}":[…the messages…]}`)
      .action(async (ids, opts) => {
        const which = idsOrAll(op, ids, opts.all);
        await (await service()).runRelease(op, which, opts.json === true);
      });
  }
  program
    .command('tick')
    .description(
      "step mode: advance a replica's time (heartbeats, election and request timeouts) by some ticks; prints how many messages that held",
    )
    .argument('[node]', 'node-1 or 1')
    .argument('[count]', 'how many ticks, 1 to 10000 (default 1)')
    .option('--all', 'tick every running replica')
    .option('--json', 'print {"ticks":[{"node":1,"ticks":5,"newlyHeld":2,"held":2}]}')
    .action(async (name, countText, opts) => {
      // `tick --all 5`: the one word given is the count.
      if (opts.all === true && name !== undefined && countText === undefined && /^\d+$/.test(name))
        [name, countText] = [undefined, name];
      if (opts.all === true && name !== undefined) throw new UsageError('tick takes a replica or --all, not both');
      if (opts.all !== true && name === undefined) throw new UsageError('tick needs a replica, like node-1, or --all');
      const count = countText === undefined ? 1 : parseCount(countText);
      const target =
        opts.all === true ? 'all' : parseNodeName(must(name, 'a replica is named when --all is not given'));
      await (await service()).runTick(target, count, opts.json === true);
    });
}
