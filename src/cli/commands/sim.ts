import { type Command, type CommandUnknownOpts, Option } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { DISK_FAULT_KINDS, type DiskFaultKind } from '../../sim/disk-faults.js';
import { PLANTS, type Plant, plantNamed } from '../../sim/planted.js';
import { FAULT_KINDS, type FaultKind, type SwarmFixed } from '../../sim/swarm.js';
import { SHAPE_FLAGS } from '../../sim/swarm-shapes.js';
import { didYouMean, parseIntFlag, parseProtocol } from '../parse.js';

function parseRate(flag: string) {
  return (raw: string): number => {
    const n = Number(raw.endsWith('%') ? raw.slice(0, -1) : raw) / (raw.endsWith('%') ? 100 : 1);
    if (!Number.isFinite(n) || n < 0 || n > 1)
      throw new UsageError(`${flag} must be a rate from 0 to 1 (or a percentage), got "${raw}"`);
    return n;
  };
}

function parseRange(flag: string) {
  return (raw: string): { min: number; max: number } => {
    const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(raw.trim());
    const min = Number(m?.[1]);
    const max = Number(m?.[2]);
    if (m === null || !(min >= 0) || !(max >= min))
      throw new UsageError(`${flag} must be a range of milliseconds like 1-40, got "${raw}"`);
    return { min, max };
  };
}

function parseOnOff(flag: string) {
  return (raw: string): boolean => {
    if (raw === 'on') return true;
    if (raw === 'off') return false;
    throw new UsageError(`${flag} must be "on" or "off", got "${raw}"`);
  };
}

function parseFaults(raw: string): FaultKind[] {
  if (raw === 'none') return [];
  const kinds = raw.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new UsageError(
        `--faults must be none or a list of ${FAULT_KINDS.join(', ')}, got "${k}"${didYouMean(k, FAULT_KINDS)}`,
      );
  }
  return kinds as FaultKind[];
}

function parseDiskFaults(raw: string): DiskFaultKind[] {
  if (raw === 'none') return [];
  const kinds = raw.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(DISK_FAULT_KINDS as readonly string[]).includes(k))
      throw new UsageError(
        `--disk-faults must be none or a list of ${DISK_FAULT_KINDS.join(', ')}, got "${k}"${didYouMean(k, DISK_FAULT_KINDS)}`,
      );
  }
  return kinds as DiskFaultKind[];
}

/** The swarm settings the flags fix; every other one the seed draws. */
function fixedSettings(o: Record<string, unknown>): SwarmFixed {
  const profile: Record<string, number> = {};
  if (o.drop !== undefined) profile.dropRate = o.drop as number;
  if (o.dup !== undefined) profile.duplicateRate = o.dup as number;
  if (o.delay !== undefined) {
    const d = o.delay as { min: number; max: number };
    profile.minDelayMs = d.min;
    profile.delaySpreadMs = d.max - d.min;
  }
  if (o.disk !== undefined) {
    const d = o.disk as { min: number; max: number };
    profile.writeMinMs = d.min;
    profile.writeSpreadMs = d.max - d.min;
  }
  if (o.partitionRate !== undefined) profile.partitionPer100Ms = o.partitionRate as number;
  if (o.crashRate !== undefined) profile.crashPer100Ms = o.crashRate as number;
  if (o.midReadyCrashRate !== undefined) profile.midReadyCrashRate = o.midReadyCrashRate as number;
  const pairs: [string, keyof SwarmFixed][] = [
    ['sessionHorizon', 'sessionHorizonSlots'],
    ['maxSessions', 'maxSessions'],
    ['snapshotEvery', 'snapshotEverySlots'],
    ['electionTicks', 'electionTimeoutTicks'],
    ['heartbeatTicks', 'heartbeatTicks'],
    ['batch', 'maxBatchEntries'],
    ['faults', 'faults'],
    ['staleReplay', 'staleReplayRate'],
    ['staleAdmin', 'staleAdminRate'],
    ['earlyResubmit', 'earlyResubmitRate'],
    ['lateRetry', 'lateRetryRate'],
    ['sessionChurn', 'sessionChurnRate'],
    ['reuseIdentities', 'reuseIdentities'],
    ['membership', 'membershipChanges'],
    ['diskFaults', 'diskFaults'],
  ];
  const fixed: Record<string, unknown> = {};
  for (const [flag, key] of pairs) if (o[flag] !== undefined) fixed[key] = o[flag];
  if (Object.keys(profile).length > 0) fixed.profile = profile;
  const shapes: Record<string, unknown> = {};
  for (const s of SHAPE_FLAGS) if (o[s.option] !== undefined) shapes[s.key] = o[s.option];
  if (Object.keys(shapes).length > 0) fixed.shapes = shapes;
  return fixed as SwarmFixed;
}

function parsePlant(name: string): Plant {
  const plant = plantNamed(name);
  if (plant === undefined)
    throw new UsageError(
      `--plant must be one of ${PLANTS.map((p) => p.name).join(', ')}, got "${name}"${didYouMean(
        name,
        PLANTS.map((p) => p.name),
      )}`,
    );
  return plant;
}

export function registerSim(program: Command, setExit: (code: number) => void): void {
  const sim = program
    .command('sim')
    .description(
      'run the protocol in the seeded simulator under crashes, partitions, loss and duplication, checking safety at every step',
    )
    .option('--protocol <name>', 'multi or basic', parseProtocol, 'multi')
    .option(
      '-n, --nodes <count>',
      'replicas per schedule (1-9; default: each seed draws 3 to 7, or 5 with --no-swarm)',
      parseIntFlag('-n', 1, 9),
    )
    .option('--seeds <count>', 'schedules to run', parseIntFlag('--seeds', 1, 10_000_000), 1000)
    .option('--seed <n>', 'run exactly this seed (reproduces a failure)', parseIntFlag('--seed', 0, 2 ** 32))
    .option('--from <n>', 'first seed of the range (default: random, printed)', parseIntFlag('--from', 0, 2 ** 32))
    .option(
      '--plant <bug>',
      `run with a known bug planted, to watch the checkers catch it: ${PLANTS.map((p) => p.name).join(', ')}`,
      parsePlant,
    )
    .option(
      '--trace <file>',
      "with --seed: write the schedule's whole trace (JSON lines, for paxos trace) to this file, or - for stdout",
    )
    .option(
      '--liveness-bound <ms>',
      'how long every client gets after the heal before the run fails for liveness (default: 6 s, plus 200 disk writes and 20 round trips of the drawn network, resent at its loss)',
      parseIntFlag('--liveness-bound', 100, 600_000),
    )
    // A negated flag's variable is named after the flag, and read here: commander does not apply an environment variable to a --no- flag.
    .addOption(
      new Option(
        '--no-swarm',
        'run the classic schedules: no seed draws its configuration (the settings flags below then do nothing)',
      ).env('PAXOS_NO_SWARM'),
    );
  addConfigFlags(sim);
  addFaultFlags(sim);
  addAdversityFlags(sim);
  addShapeFlags(sim);
  sim.option('--json', 'print the summary as JSON').action(async (opts) => {
    const swarm = opts.swarm !== false && !process.env.PAXOS_NO_SWARM;
    if (opts.plant?.multiOnly && opts.protocol !== 'multi')
      throw new UsageError(`--plant ${opts.plant.name} only applies to --protocol multi`);
    const tty = process.stderr.isTTY && !opts.json;
    // A trace on stdout owns it: the summary moves to stderr so the trace stays a clean JSON-lines stream.
    const summaryTo = opts.trace === '-' ? process.stderr : process.stdout;
    const { runSimCommand } = await import('../services/sim.js');
    const interrupt = watchInterrupt();
    const code = await runSimCommand({
      protocol: opts.protocol,
      seeds: opts.seeds,
      ...(opts.nodes !== undefined ? { clusterSize: opts.nodes } : swarm ? {} : { clusterSize: 5 }),
      ...(swarm ? { swarm: fixedSettings(opts as Record<string, unknown>) } : {}),
      json: opts.json === true,
      ...(opts.plant ? { plant: opts.plant } : {}),
      ...(opts.livenessBound !== undefined ? { livenessBoundMs: opts.livenessBound } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.from !== undefined ? { from: opts.from } : {}),
      ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
      out: (line) => summaryTo.write(`${line}\n`),
      ...(tty ? { progress: simProgress() } : {}),
      interrupted: interrupt.happened,
    }).finally(interrupt.stop);
    setExit(code);
  });
}

/** The swarm's core configuration, fixed instead of drawn; read through fixedSettings, so their types need not reach the action. */
function addConfigFlags(cmd: CommandUnknownOpts): void {
  cmd
    .option(
      '--session-horizon <slots>',
      "multi: the horizon of the replicas' own sessions, for clients that bring none (drawn: 4096, 16384 or 65536)",
      parseIntFlag('--session-horizon', 1, 2 ** 30),
    )
    .option(
      '--max-sessions <count>',
      'multi: registered client sessions held before the least recently used is evicted (drawn: 2, 3, 4, 8 or 1024)',
      parseIntFlag('--max-sessions', 1, 1_000_000),
    )
    .option(
      '--snapshot-every <slots>',
      'slots (multi) or learned keys (basic) between snapshots (drawn: 1-64)',
      parseIntFlag('--snapshot-every', 1, 1_000_000),
    )
    .option(
      '--election-ticks <ticks>',
      'election timeout in 10 ms ticks (drawn: 6-40, at least a round trip)',
      parseIntFlag('--election-ticks', 2, 10_000),
    )
    .option(
      '--heartbeat-ticks <ticks>',
      'leader heartbeat interval in ticks (drawn: 1 to a third of the election timeout)',
      parseIntFlag('--heartbeat-ticks', 1, 10_000),
    )
    .option(
      '--batch <entries>',
      'most log entries one accept carries (drawn: 1, 2, 4, 16 or 256)',
      parseIntFlag('--batch', 1, 1_000_000),
    );
}

/** The network, disk and crash faults, fixed instead of drawn. */
function addFaultFlags(cmd: CommandUnknownOpts): void {
  cmd
    .option(
      '--faults <kinds>',
      `fault kinds on, comma-separated, or none (drawn: each of ${FAULT_KINDS.filter((k) => k !== 'pause').join(', ')} with 65%, pause with 50%)`,
      parseFaults,
    )
    .option('--drop <rate>', 'message loss when loss is on', parseRate('--drop'))
    .option('--dup <rate>', 'message duplication when dup is on', parseRate('--dup'))
    .option('--delay <ms>', 'message delay range, like 1-40 (its spread is the reordering)', parseRange('--delay'))
    .option('--disk <ms>', 'disk write time range, like 0.3-5', parseRange('--disk'))
    .option(
      '--partition-rate <rate>',
      'chance per 100 ms of cutting or healing the network, when partition is on',
      parseRate('--partition-rate'),
    )
    .option(
      '--crash-rate <rate>',
      'chance per 100 ms of crashing a replica, when crash is on',
      parseRate('--crash-rate'),
    );
}

/** The rarer adversities (mid-Ready crashes, stale messages and views, clients' retries and sessions, membership, storage faults), fixed instead of drawn. */
function addAdversityFlags(cmd: CommandUnknownOpts): void {
  cmd
    .option(
      '--mid-ready-crash-rate <rate>',
      'chance of a crash at each crash point inside a Ready, when mid-ready-crash is on',
      parseRate('--mid-ready-crash-rate'),
    )
    .option(
      '--stale-replay <rate>',
      'chance per message of also replaying an old accepted/promise/commit, when stale-replay is on',
      parseRate('--stale-replay'),
    )
    .option(
      '--stale-admin <rate>',
      "multi: chance an administrator's change is built from an old view of the configuration",
      parseRate('--stale-admin'),
    )
    .option(
      '--early-resubmit <rate>',
      'chance a client sends a second attempt before the first ends',
      parseRate('--early-resubmit'),
    )
    .option(
      '--late-retry <rate>',
      'chance a client retries a finished operation long after, through any replica',
      parseRate('--late-retry'),
    )
    .option(
      '--session-churn <rate>',
      'multi: chance a client registers a new session before its next operation, as a restarted client library does',
      parseRate('--session-churn'),
    )
    .option(
      '--reuse-identities <on|off>',
      'clients reuse an identity for another command, with odd bytes (default off, so the recorded seeds keep their schedules; seeds 1-300 at 3-5 replicas pass with it on)',
      parseOnOff('--reuse-identities'),
    )
    .option(
      '--membership <on|off>',
      'multi: an administrator changes the configuration (default: odd seeds)',
      parseOnOff('--membership'),
    )
    .option(
      '--disk-faults <kinds>',
      `storage faults at crashes, on at most a minority: comma-separated, or none (drawn: none for half the seeds, else each of ${DISK_FAULT_KINDS.join(', ')} with 60%)`,
      parseDiskFaults,
    );
}

/** The shaped faults (partitions around the leader, confused administrators, restarts after a change), fixed instead of drawn. */
function addShapeFlags(cmd: CommandUnknownOpts): void {
  cmd
    .option(
      '--leader-minority <rate>',
      'chance a partition puts the leader with a minority of the voters',
      parseRate('--leader-minority'),
    )
    .option(
      '--partition-max-ms <ms>',
      'a partition heals by itself after 20 ms up to this (0: when chaos heals it)',
      parseIntFlag('--partition-max-ms', 0, 60_000),
    )
    .option(
      '--future-epoch <rate>',
      "multi: chance an administrator's change names the epoch after the latest",
      parseRate('--future-epoch'),
    )
    .option(
      '--reuse-change-identity <rate>',
      "multi: chance a change is sent under the identity of the administrator's last change at that replica (apply refuses it)",
      parseRate('--reuse-change-identity'),
    )
    .option(
      '--restart-after-change <rate>',
      'multi: chance a replica is crashed and restarted right after a configuration change is answered',
      parseRate('--restart-after-change'),
    )
    .option(
      '--pause-rate <rate>',
      'chance per 100 ms that a replica is paused (SIGSTOP or frozen, as paxos pause and paxos check do), when pause is on',
      parseRate('--pause-rate'),
    )
    .option(
      '--pause-max-ms <ms>',
      'a pause lasts 5 ms up to this (drawn: 1.5, 3 or 6 election timeouts, at most 2500)',
      parseIntFlag('--pause-max-ms', 0, 60_000),
    )
    .option('--pause-leader <rate>', 'chance a pause goes to a leader when there is one', parseRate('--pause-leader'));
}

/**
 * Turns the first Ctrl-C into a flag the seed loop polls, so the run can
 * print the summary of the seeds done so far instead of dying silently.
 * A second Ctrl-C exits at once, for a user who does not want to wait.
 */
function watchInterrupt(): { happened: () => boolean; stop: () => void } {
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    // The progress line has no newline yet: clear it so the summary starts on a clean line.
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  };
  process.on('SIGINT', onSignal);
  return {
    happened: () => interrupted,
    stop: () => {
      process.off('SIGINT', onSignal);
    },
  };
}

/** `1200/5000 schedules, 340/s, 11s left` on one line of stderr, redrawn every 50 schedules. */
function simProgress(): (done: number, total: number) => void {
  const started = performance.now();
  return (done, total) => {
    if (done % 50 !== 0 && done !== total) return;
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const eta =
      done === total
        ? `${seconds.toFixed(1)}s`
        : left >= 60
          ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s left`
          : `${left}s left`;
    process.stderr.write(`\r\x1b[2K${done}/${total} schedules, ${Math.round(rate)}/s, ${eta}`);
    if (done === total) process.stderr.write('\n');
  };
}
