/**
 * The commander program. Each command lives in commands/<name>.ts: it parses
 * and validates, then calls a service. This file maps every error to one
 * sentence on stderr and an exit code, in one place, and applies the
 * conventions every command shares: an environment variable for each flag,
 * defaults shown as values, an example in each `--help`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, type Option } from '@commander-js/extra-typings';
import { diskStateError, paxosHome } from '../cluster/home.js';
import { describeError, exitCodeFor, UsageError } from '../errors.js';

/** The version in package.json, read at run time so a release changes it in one place. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** One example per command, shown at the end of its `--help`. */
const EXAMPLES: Record<string, readonly string[]> = {
  up: [
    'paxos up -n 5',
    'paxos up -n 3 --protocol basic --detach --json',
    'paxos up --template lossy',
    'paxos up -n 3 --detach --trace run.jsonl',
    'paxos up -n 3 --step --detach',
  ],
  propose: ['paxos propose x=7', 'paxos propose x=7 --via node-2 --timeout 2s --json'],
  get: ['paxos get x', 'paxos get x --via node-3 --json'],
  status: ['paxos status', "paxos status --json | jq '.replicas[] | select(.up | not) | .id'"],
  kill: ['paxos kill node-2', 'paxos kill --all --json'],
  restart: ['paxos restart node-2', 'paxos restart --all'],
  pause: ['paxos pause node-2 --json'],
  resume: ['paxos resume node-2', 'paxos resume --all --json'],
  partition: ['paxos partition node-1,node-2 node-3,node-4,node-5', 'paxos partition node-1 --json'],
  heal: ['paxos heal', 'paxos heal --json'],
  net: ['paxos net --delay 10-200ms --drop 5%', 'paxos net --delay 0 --drop 0 --json'],
  held: ['paxos held', 'paxos held --json | jq \'.messages[] | select(.type == "prepare") | .id\''],
  deliver: ['paxos deliver 1:1 1:2', 'paxos deliver --all --json'],
  drop: ['paxos drop 2:4', 'paxos drop --all'],
  duplicate: ['paxos duplicate 1:3', 'paxos duplicate 1:3 --json'],
  tick: ['paxos tick node-1 20', 'paxos tick --all 5 --json'],
  add: ['paxos add', 'paxos add --timeout 1m --json'],
  remove: ['paxos remove node-3', 'paxos remove node-3 --json'],
  replace: ['paxos replace node-3', 'paxos replace node-3 --json'],
  recover: ['paxos recover node-2', 'paxos recover node-2 --json'],
  logs: ['paxos logs node-2 --lines 20', 'paxos logs node-1 -f --json'],
  ui: ['paxos ui'],
  down: ['paxos down', 'paxos down --wipe --json'],
  reset: ['paxos reset'],
  sim: [
    'paxos sim --seeds 1000',
    'paxos sim --seed 42 --protocol basic --json',
    'paxos sim --seed 7 -n 3 --trace seed7.jsonl',
  ],
  explore: [
    'paxos explore -n 3 --protocol basic --proposals 2 --depth 8',
    'paxos explore --protocol multi --proposals 2 --faults crash --time 3m --json',
    'paxos explore --plant quorum-minus-one --out found.txt && paxos scenario run --sim found.txt',
  ],
  bench: [
    'paxos bench -n 3,5 --concurrency 1,16 --ops 5000',
    'paxos bench --attach --json',
    'paxos bench --soak 10m --concurrency 64 --interval 30s',
  ],
  trace: [
    'paxos trace run.jsonl',
    'paxos trace run.jsonl --svg run.svg --mermaid run.mmd --shiviz run.log',
    'paxos trace run.jsonl --from 200 --to 400 --svg - > window.svg',
    'paxos trace run.jsonl.parts',
  ],
  replay: ['paxos replay run.jsonl', 'paxos replay run.jsonl.parts --json'],
  scenario: [
    'paxos scenario list',
    'paxos scenario run 000-duelling-proposers',
    'paxos scenario run 000-duelling-proposers --trace t.jsonl && paxos trace t.jsonl --svg walk.svg',
    'paxos scenario run ./my-scenario.txt --step',
  ],
  'scenario list': ['paxos scenario list', 'paxos scenario list --json'],
  'scenario run': [
    'paxos scenario run 000-duelling-proposers',
    'paxos scenario run multi-failover --trace failover.jsonl',
    'paxos scenario run ./my-scenario.txt --step',
  ],
  check: ['paxos check -n 5 --time 30s', 'paxos check --nemesis kill,partition --seed 7 --json'],
  replica: [
    'paxos replica --id 1 --listen 0.0.0.0:7001 --advertise node1.example:7001 --peers 1=node1.example:7001,2=node2.example:7001,3=node3.example:7001 --cluster-id prod-1 --token-file /etc/paxos/token --data /var/lib/paxos',
    'HOSTNAME=paxos-0 paxos replica --id-from-ordinal --listen 0.0.0.0:7001 --cluster-file /etc/paxos/cluster.json --data /data --initial-state existing',
    'paxos replica --id 1 --listen 0.0.0.0:7001 --cluster-file cluster.json --data /var/lib/paxos --cert-file certs/node-1.crt --key-file certs/node-1.key --trusted-ca-file certs/ca.crt --client-cert-auth',
  ],
  certs: ['paxos certs --out certs --cluster-id prod-1 --nodes 3 --hosts node1.example,node2.example,node3.example'],
  completion: [
    'paxos completion bash >> ~/.bashrc',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a zsh expression shown to the user, not a template
    'paxos completion zsh > "${fpath[1]}/_paxos"',
    'paxos completion fish > ~/.config/fish/completions/paxos.fish',
  ],
};

/** Flags that must not come from the environment: internal ones, and those a stale `export` would make dangerous. */
const NO_ENV = new Set(['daemon', 'plant', 'all', 'fresh', 'wipe']);

/** Commands that never touch $PAXOS_HOME, so an empty one does not concern them. */
const HOMELESS = new Set(['sim', 'explore', 'trace', 'replay', 'scenario', 'completion', '__complete', 'replica']);

export function envNameOf(option: Option): string {
  return `PAXOS_${option
    .attributeName()
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase()}`;
}

function formatMs(ms: number): string {
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A default the way a user would type it: 3,5 not [3,5], multi not "multi", 5s not 5000. */
function describeDefault(option: Option): string {
  const v: unknown = option.defaultValue;
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'number' && option.flags.includes('<duration>')) return formatMs(v);
  return String(v);
}

/**
 * Gives every visible flag of every command an environment variable
 * (PAXOS_NODES, PAXOS_PROTOCOL, ...), shown in `--help`. Commander only wires
 * an option's variable when the option is added, so each is added again.
 */
function applyConventions(program: Command, lastCommand: { name: string }): void {
  for (const cmd of withSubcommands(program)) {
    const path = cmd.parent !== null && cmd.parent !== program ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
    cmd.configureOutput({
      outputError: () => {
        lastCommand.name = path;
      },
    });
    // Commander's types hide that a Command is an EventEmitter and that its options array is its own.
    const options = (cmd.options as Option[]).splice(0);
    const events = cmd as unknown as { removeAllListeners(event: string): void };
    for (const o of options) {
      events.removeAllListeners(`option:${o.name()}`);
      events.removeAllListeners(`optionEnv:${o.name()}`);
      if (!o.hidden && !NO_ENV.has(o.attributeName()) && o.envVar === undefined) o.env(envNameOf(o));
      if (
        o.defaultValue !== undefined &&
        o.defaultValueDescription === undefined &&
        typeof o.defaultValue !== 'boolean'
      ) {
        o.defaultValueDescription = describeDefault(o);
      }
      cmd.addOption(o);
    }
    const examples = EXAMPLES[path];
    if (examples !== undefined)
      cmd.addHelpText(
        'after',
        `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`,
      );
  }
}

/** The program's commands and their own subcommands (`scenario run`), one level down: no command nests deeper. */
function withSubcommands(program: Command): Command[] {
  return program.commands.flatMap((cmd) => [cmd, ...cmd.commands]) as Command[];
}

/**
 * A boolean flag's variable set to 0, false, no, off or nothing means "off"
 * (commander would take any value as "on"), so it is dropped before parsing.
 */
function dropFalseBooleanEnv(program: Command): void {
  for (const cmd of withSubcommands(program)) {
    for (const o of cmd.options) {
      if (o.envVar === undefined || o.required || o.optional) continue;
      const v = process.env[o.envVar];
      if (v !== undefined && /^(0|false|no|off|)$/i.test(v.trim())) delete process.env[o.envVar];
    }
  }
}

/** Commander's own message (`error: unknown option '--x'\n(Did you mean --y?)`) as one sentence. */
export function commanderSentence(message: string, command: string | undefined): string {
  let s = message
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*\(Did you mean (.*)\?\)\s*$/s, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  s = s.replace(/\.(?= \(did you mean|$)/, '');
  const where = command ? `paxos ${command} --help` : 'paxos --help';
  return `paxos: ${s}; see \`${where}\``;
}

type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * The commands a script runs many times over, each loaded on its own when it
 * is named first (`paxos propose x=7`): such a run does not pay for the
 * simulator, the checker and the explorer that other commands' flags import.
 * Anything else (help, completion, a mistyped name, the other commands)
 * loads the whole program in one module (all-commands.ts).
 */
const ALONE: readonly { readonly names: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { names: ['propose'], load: async () => (await import('./commands/propose.js')).registerPropose },
  { names: ['get'], load: async () => (await import('./commands/get.js')).registerGet },
  { names: ['status'], load: async () => (await import('./commands/status-command.js')).registerStatus },
  {
    names: ['kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'net'],
    load: async () => (await import('./commands/faults.js')).registerFaults,
  },
];

/** The program with every command, or with `only` the commands of the module that defines the command named `only`. */
export async function buildProgram(
  setExit: (code: number) => void,
  lastCommand: { name: string } = { name: '' },
  only?: string,
): Promise<Command> {
  const alone = only === undefined ? undefined : ALONE.find((c) => c.names.includes(only));
  const register: Register = alone === undefined ? (await import('./all-commands.js')).registerAll : await alone.load();
  const program = new Command();
  program
    .name('paxos')
    .description(
      'A Paxos lab: real replicas over WebSocket, a live dashboard, and a seeded simulator that checks safety.',
    )
    .version(packageVersion())
    .configureOutput({
      outputError: () => {
        lastCommand.name = '';
      },
    })
    .exitOverride();
  register(program, setExit);
  applyConventions(program, lastCommand);
  program.addHelpText(
    'after',
    `
Every flag but --all, --plant, --fresh and --wipe can also be set with an
environment variable, shown as env: next to it (PAXOS_NODES=3 paxos up); a
boolean one is off when set to 0, false or no. A flag typed on the command line
wins over its variable.
PAXOS_HOME (default ~/.paxos) is where the cluster lives.

Examples:
  $ paxos up -n 5
  $ paxos propose x=7
  $ paxos kill node-2 && paxos status
  $ paxos down`,
  );
  program.hook('preAction', (_program, action) => {
    if (process.env.PAXOS_HOME === '' && !HOMELESS.has(action.name()) && !HOMELESS.has(action.parent?.name() ?? '')) {
      throw new UsageError('PAXOS_HOME is set but empty; unset it to use ~/.paxos, or set it to a directory');
    }
  });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const lastCommand = { name: '' };
  // A command named first loads alone; `paxos --help`, `help`, completion or a typo need the whole program.
  const named = argv[2];
  const only = named !== undefined && ALONE.some((c) => c.names.includes(named)) ? named : undefined;
  const program = await buildProgram(
    (code) => {
      exitCode = code;
    },
    lastCommand,
    only,
  );
  dropFalseBooleanEnv(program);
  // What the completion scripts call: the words after `paxos`, the last being typed. Handled before commander, which would read them as flags.
  if (argv[2] === '__complete') {
    const { complete } = await import('./commands/complete.js');
    const found = await complete(program, argv.slice(3));
    if (found.length > 0) process.stdout.write(`${found.join('\n')}\n`);
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.exitCode === 0 ||
        err.code === 'commander.help' ||
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version'
      ) {
        return err.exitCode === 0 ? 0 : 2;
      }
      process.stderr.write(`${commanderSentence(err.message, lastCommand.name || undefined)}\n`);
      return 2;
    }
    // A full disk or a read-only home is the world's state, not a bug: one sentence naming the path.
    const explained = diskStateError(err, paxosHome());
    process.stderr.write(`${describeError(explained)}\n`);
    return exitCodeFor(explained);
  }
}
