/**
 * The text of a scenario file, as steps. A file is the testdata format of
 * etcd's raft tests, with three additions a product scenario needs and the
 * old files simply do not use:
 *
 *   # title: The 000 walk-through      a header line: what `paxos scenario list` shows
 *   narrate <text>                      a step that only speaks: printed as the run goes, traces nothing
 *   expect <text> | expect /<regex>/    under a command, before its `----`: a line of its trace must match
 *
 * A command step is `# comments`, the command line, any `expect` lines, then
 * `----` and the expected trace up to the next blank line. A command with
 * `expect` lines may leave out the `----` block: then only the expectations
 * are checked.
 */

export interface CommandStep {
  readonly kind: 'command';
  readonly comments: readonly string[];
  readonly command: string;
  /** The trace the step must print exactly, or null when only `expects` are checked. */
  readonly expected: string | null;
  readonly expects: readonly string[];
}

export interface NarrateStep {
  readonly kind: 'narrate';
  readonly comments: readonly string[];
  readonly text: string;
}

export type Step = CommandStep | NarrateStep;

export interface Scenario {
  /** The `# title:` header, or null for a file without one (the test scenarios). */
  readonly title: string | null;
  readonly steps: readonly Step[];
}

const TITLE = /^#\s*title:\s*(.*)$/;

export function parseScenario(text: string): Scenario {
  const steps: Step[] = [];
  const lines = text.split('\n');
  let title: string | null = null;
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const titled = TITLE.exec(line);
    if (titled !== null && title === null) title = titled[1].trim();
    else if (line.startsWith('#')) comments.push(line);
    else if (line.startsWith('narrate ')) {
      steps.push({ kind: 'narrate', comments, text: line.slice('narrate '.length).trim() });
      comments = [];
    } else if (line.trim() !== '') {
      const parsed = parseCommandStep(lines, i, comments);
      if (parsed === null) continue;
      steps.push(parsed.step);
      comments = [];
      i = parsed.end;
    }
  }
  return { title, steps };
}

/** The command at `lines[at]` with its expectations; null for a stray line that is not a step (the old format ignored those). */
function parseCommandStep(
  lines: readonly string[],
  at: number,
  comments: readonly string[],
): { step: CommandStep; end: number } | null {
  let j = at + 1;
  const expects: string[] = [];
  while (j < lines.length && lines[j].startsWith('expect ')) expects.push(lines[j++].slice('expect '.length).trim());
  const base = { kind: 'command' as const, comments, command: lines[at].trim(), expects };
  if (lines[j] !== '----') return expects.length > 0 ? { step: { ...base, expected: null }, end: j - 1 } : null;
  let k = j + 1;
  while (k < lines.length && lines[k].trim() !== '') k++;
  return {
    step: {
      ...base,
      expected: lines
        .slice(j + 1, k)
        .join('\n')
        .trim(),
    },
    end: k,
  };
}

/** The file again, with `actual` traces in place of the expected ones: what REWRITE=1 writes. */
export function formatScenario(scenario: Scenario, actual: ReadonlyMap<Step, string>): string {
  const parts: string[] = [];
  if (scenario.title !== null) parts.push(`# title: ${scenario.title}\n`);
  for (const step of scenario.steps) {
    if (step.kind === 'narrate') {
      parts.push([...step.comments, `narrate ${step.text}`, ''].join('\n'));
      continue;
    }
    const trace = actual.get(step) ?? step.expected;
    const block = trace === null ? [] : ['----', ...(trace === '' ? [] : [trace])];
    parts.push([...step.comments, step.command, ...step.expects.map((e) => `expect ${e}`), ...block, ''].join('\n'));
  }
  return parts.join('\n');
}

/** Whether an `expect` line matches a line of the trace: `/regex/` as a regular expression, anything else as text it contains. */
export function expectationMet(expect: string, trace: string): boolean {
  const regex = /^\/(.*)\/$/.exec(expect);
  const lines = trace.split('\n');
  if (regex === null) return lines.some((l) => l.includes(expect));
  const pattern = new RegExp(regex[1]);
  return lines.some((l) => pattern.test(l));
}
