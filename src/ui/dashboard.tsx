/**
 * The whole screen, composed from plain-prop components, plus the keys. It
 * owns only screen state (selection, help, the propose prompt, the last
 * action's outcome); every action is a callback and the cluster decides what
 * it means and whether it worked.
 */
import { Box, type Key, Text, useInput, useStdin } from 'ink';
import { useCallback, useRef, useState } from 'react';
import { must } from '../core/must.js';
import { type NodeId, nodeName } from '../core/types.js';
import { type HeldMessage, NOT_STEP_MODE, RELEASED, type StepRelease } from '../node/step.js';
import { ChosenList } from './chosen-list.js';
import { Header } from './header.js';
import { type HeldSnapshot, NO_HELD } from './held-feed.js';
import { HeldList } from './held-list.js';
import { HelpOverlay } from './help-overlay.js';
import { KeyTable } from './key-table.js';
import { type Layout, layoutFor, tooSmall } from './layout.js';
import { LogPane } from './log-pane.js';
import { MessageFlow } from './message-flow.js';
import { type DashboardState, memberCount, selectableId, selectNode, shownRows } from './model.js';
import { ProposeInput } from './propose-input.js';
import { ReplicaTable } from './replica-table.js';
import { FaultsLine, HintLine, type Outcome, StatusLine, StoppedLine } from './status-line.js';

/** What the keys do. A returned string, if any, is shown as the outcome instead of the default sentence. */
export interface DashboardActions {
  kill(id: NodeId): Promise<string | void>;
  restart(id: NodeId): Promise<string | void>;
  propose(text: string): Promise<string | void>;
  isolate(id: NodeId): Promise<string | void>;
  heal(): Promise<string | void>;
  quit(): Promise<string | void>;
  /** Step mode (`paxos up --step`): one tick on every replica; deliver, or drop, every held message. Refused otherwise. */
  tick(): Promise<string | void>;
  deliverAll(): Promise<string | void>;
  dropAll(): Promise<string | void>;
  /** Step mode: delivers, drops or duplicates the one held message named by `id`, whichever it is (out of order included). */
  release(op: StepRelease, id: string): Promise<string | void>;
  /** Step mode: one tick on one replica. */
  tickNode(id: NodeId): Promise<string | void>;
}

export interface DashboardProps {
  readonly state: DashboardState;
  readonly actions: DashboardActions;
  readonly columns: number;
  readonly rows: number;
  /** False under NO_COLOR: then nothing is coloured, dimmed, bold or inverted. */
  readonly color: boolean;
  /**
   * The cluster was started with `paxos up --step`, which it cannot change
   * while it runs: the held messages replace the message flow, and the keys
   * that act on one held message work. Absent means not in step mode.
   */
  readonly step?: boolean;
  /** Step mode's held messages as last read; empty until the first read answers. */
  readonly held?: HeldSnapshot;
  /** `paxos up`: `q` stops the cluster too, and the hints say so. Absent means `q` leaves it running (`paxos ui`). */
  readonly quitStopsCluster?: boolean;
}

/** Cursor moves taken from one chunk of repeated `[` or `]`; more than a screenful is never meant. */
const MAX_CURSOR_REPEAT = 100;

/** Long enough for any key=value a person types; the prompt must not grow without bound. */
const MAX_PROPOSE_CHARS = 500;

/** Screen state the keys change; kept in one object so a key handler sees every earlier key's effect. */
interface Screen {
  readonly selected: NodeId;
  readonly helpOpen: boolean;
  /** The propose prompt's text, or null while the prompt is closed. */
  readonly proposeText: string | null;
  /** The drastic action waiting for `y`, or null when none is. */
  readonly confirming: Drastic | null;
  /** The held message the step keys act on; see heldIndex. */
  readonly heldCursor: HeldCursor;
}

/**
 * The cursor follows a message by id, so a list that changes under it (a
 * poll, another terminal's deliver) keeps the same message selected. When
 * that message is gone, the cursor stays at the same position, which is
 * then the message after it: delivering one after another needs no moves.
 */
interface HeldCursor {
  readonly id: string | null;
  readonly index: number;
}

/** The cursor's position in the current list, clamped into it; 0 for an empty list. */
export function heldIndex(messages: readonly HeldMessage[], cursor: HeldCursor): number {
  const found = cursor.id === null ? -1 : messages.findIndex((m) => m.id === cursor.id);
  if (found >= 0) return found;
  return Math.max(0, Math.min(cursor.index, messages.length - 1));
}

/**
 * Kill, restart and isolate change the cluster for real, and `k` is the key
 * vim users press to move up, so each waits for `y`. The replica is fixed
 * when the key is pressed: moving the selection cannot redirect it.
 */
interface Drastic {
  readonly verb: 'kill' | 'restart' | 'isolate';
  readonly id: NodeId;
}

/** The words for a drastic action while it runs and once it is done. */
const DRASTIC = {
  kill: { pending: 'killing', done: 'killed' },
  restart: { pending: 'restarting', done: 'restarted' },
  isolate: { pending: 'isolating', done: 'isolated' },
} as const;

/** The question in the status line; it names the replica, so a wrong selection is caught before `y`. */
function confirmQuestion(d: Drastic): string {
  return `${d.verb} ${nodeName(d.id)}? press y to confirm, any other key cancels`;
}

export function Dashboard(props: DashboardProps) {
  const { screen, outcome } = useDashboardKeys(props);
  const state = selectNode(props.state, selectableId(props.state, screen.selected));
  const { helpOpen, proposeText } = screen;
  const step = props.step === true;
  const held = props.held ?? NO_HELD;
  const small = tooSmall(props.columns, props.rows);
  if (small !== null) {
    // Wrapped lines would overwrite each other; one truthful line is better than a garbled table.
    return (
      <Box flexDirection="column" width={Math.max(1, props.columns)}>
        <Text wrap="truncate-end">{state.stopped !== null ? `the cluster stopped: ${state.stopped}` : small}</Text>
      </Box>
    );
  }
  const rows = shownRows(state);
  const layout = layoutFor({
    columns: props.columns,
    rows: props.rows,
    clusterSize: rows.length,
    protocol: state.protocol,
  });
  return (
    <Box flexDirection="column" width={layout.columns}>
      <Header state={state} replicas={memberCount(state)} columns={layout.columns} color={props.color} />
      <ReplicaTable
        rows={rows}
        protocol={state.protocol}
        leaderId={state.leader?.id ?? null}
        selected={state.selected}
        visibleRows={layout.tableRows}
        columns={layout.columns}
        color={props.color}
      />
      {helpOpen ? (
        <HelpOverlay
          width={layout.columns}
          height={layout.upperLines + layout.lowerLines + 2}
          color={props.color}
          step={step}
          quitStopsCluster={props.quitStopsCluster === true}
        />
      ) : (
        <Sections
          state={state}
          layout={layout}
          color={props.color}
          held={step ? { ...held, cursor: heldIndex(held.messages, screen.heldCursor) } : null}
        />
      )}
      <BottomLines
        state={state}
        outcome={outcome}
        proposeText={proposeText}
        width={layout.columns}
        color={props.color}
        step={step}
        quitStopsCluster={props.quitStopsCluster === true}
      />
    </Box>
  );
}

/**
 * The screen's state and the keyboard: every key goes through handleKey with
 * the latest screen and props. Its hooks run in the same order on every render.
 */
function useDashboardKeys(props: DashboardProps): { screen: Screen; outcome: Outcome | null } {
  const [screen, setScreenState] = useState<Screen>(() => ({
    selected: props.state.selected,
    helpOpen: false,
    proposeText: null,
    confirming: null,
    heldCursor: { id: null, index: 0 },
  }));
  // Keys can arrive faster than React re-renders (typing, pasting); the handler reads and writes this ref,
  // so it never works from a stale copy of the screen or the props.
  const screenRef = useRef(screen);
  const propsRef = useRef(props);
  propsRef.current = props;
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const { run, say } = useActionRunner(setOutcome);

  const onKey = useCallback(
    (input: string, key: Key) => {
      const setScreen = (change: Partial<Screen>) => {
        screenRef.current = { ...screenRef.current, ...change };
        setScreenState(screenRef.current);
      };
      const p = propsRef.current;
      const one = (k: string, asKey: Key) =>
        handleKey({
          input: k,
          key: asKey,
          screen: screenRef.current,
          setScreen,
          run,
          say,
          actions: p.actions,
          clusterSize: p.state.clusterSize,
          step: p.step === true,
          held: (p.held ?? NO_HELD).messages,
          state: p.state,
        });
      // A held-down `]` can reach us as one chunk (`]]]`); each is a cursor move. A chunk of anything else in step
      // mode is a paste, and must not deliver or drop several messages at once.
      if (
        screenRef.current.proposeText === null &&
        screenRef.current.confirming === null &&
        /^(\[+|\]+)$/.test(input)
      ) {
        for (const k of input.slice(0, MAX_CURSOR_REPEAT)) one(k, key);
        return;
      }
      const burst = splitBurst(input, key);
      if (burst === null || (p.step === true && screenRef.current.proposeText === null)) one(input, key);
      else for (const [k, asKey] of burst) one(k, asKey);
    },
    [run, say],
  );
  // Without a keyboard (stdin not a terminal) the dashboard is watch-only rather than a crash.
  const { isRawModeSupported } = useStdin();
  useInput(onKey, { isActive: isRawModeSupported });
  return { screen, outcome };
}

interface BottomLinesProps {
  readonly state: DashboardState;
  readonly outcome: Outcome | null;
  readonly proposeText: string | null;
  readonly width: number;
  readonly color: boolean;
  readonly step: boolean;
  readonly quitStopsCluster: boolean;
}

/** The three lines under the sections: why the cluster stopped or the faults in force, the last outcome, and the hint or the propose input. */
function BottomLines({ state, outcome, proposeText, width, color, step, quitStopsCluster }: BottomLinesProps) {
  return (
    <>
      {state.stopped !== null ? (
        <StoppedLine reason={state.stopped} width={width} color={color} quitStopsCluster={quitStopsCluster} />
      ) : (
        <FaultsLine faults={state.faults} width={width} color={color} />
      )}
      <StatusLine outcome={outcome} width={width} color={color} />
      {proposeText !== null ? (
        <ProposeInput value={proposeText} width={width} color={color} />
      ) : (
        <HintLine width={width} color={color} step={step} quitStopsCluster={quitStopsCluster} />
      )}
    </>
  );
}

interface SectionsProps {
  readonly state: DashboardState;
  readonly layout: Layout;
  readonly color: boolean;
  /** In step mode, the held messages and the cursor's position, shown where the message flow is otherwise. */
  readonly held: (HeldSnapshot & { readonly cursor: number }) | null;
}

/** The two titled sections between the table and the bottom lines; see layout.ts for the arrangement. */
function Sections({ state, layout, color, held }: SectionsProps) {
  const row = must(state.rows[state.selected - 1], 'the selection is a row of the table');
  // Everything is held in step mode, so the flow would never change; the held messages are what the user acts on.
  const flow = (width: number, lines: number) =>
    held !== null ? (
      <HeldList
        messages={held.messages}
        total={held.total}
        cursor={held.cursor}
        error={held.error}
        width={width}
        lines={lines}
        color={color}
      />
    ) : (
      <MessageFlow
        entries={state.flow}
        notShown={state.flowNotShown}
        folded={state.flowFolded}
        width={width}
        lines={lines}
        color={color}
      />
    );
  if (state.protocol === 'basic') {
    return (
      <Box flexDirection="column">
        <KeyTable
          keys={state.keys}
          clusterSize={state.clusterSize}
          width={layout.columns}
          lines={layout.upperLines}
          color={color}
        />
        <Box columnGap={1}>
          {flow(layout.leftWidth, layout.lowerLines)}
          <LogPane node={row.id} lines={row.log} width={layout.rightWidth} height={layout.lowerLines} color={color} />
        </Box>
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <Box columnGap={1}>
        <ChosenList
          entries={state.chosen}
          total={state.totalChosen}
          protocol={state.protocol}
          width={layout.leftWidth}
          lines={layout.upperLines}
          color={color}
        />
        {flow(layout.rightWidth, layout.upperLines)}
      </Box>
      <LogPane node={row.id} lines={row.log} width={layout.columns} height={layout.lowerLines} color={color} />
    </Box>
  );
}

interface KeyArgs {
  readonly input: string;
  readonly key: Key;
  readonly screen: Screen;
  readonly setScreen: (change: Partial<Screen>) => void;
  readonly run: ActionRunner;
  readonly say: (o: Outcome) => void;
  readonly actions: DashboardActions;
  readonly clusterSize: number;
  readonly step: boolean;
  readonly held: readonly HeldMessage[];
  /** What the arrows move over: the replicas the table shows. */
  readonly state: DashboardState;
}

/**
 * What each key does; the prompt, while open, takes every key as text, and a
 * pending confirmation takes the next key as its answer.
 */
function handleKey(args: KeyArgs): void {
  const { input, key, screen, setScreen, run, say, actions, clusterSize } = args;
  if (screen.confirming !== null) {
    answerConfirmation({
      input,
      drastic: screen.confirming,
      clear: () => setScreen({ confirming: null }),
      run,
      say,
      actions,
    });
    return;
  }
  if (screen.proposeText !== null) {
    editProposal({
      input,
      key,
      text: screen.proposeText,
      setText: (proposeText) => setScreen({ proposeText }),
      submit: (text) => run(`proposing ${text}`, `${text} proposed`, () => actions.propose(text)),
    });
    return;
  }
  // The selection may point past a cluster that shrank, or at a replica since removed; it moves over the shown rows only.
  const id = Math.min(Math.max(1, selectableId(args.state, screen.selected)), clusterSize);
  const ids = shownRows(args.state).map((r) => r.id);
  const at = Math.max(0, ids.indexOf(id));
  const stepKey = stepKeyOf(input, key);
  if (stepKey !== null) handleStepKey(stepKey, id, args);
  else if (key.upArrow) setScreen({ selected: ids[(at - 1 + ids.length) % Math.max(1, ids.length)] ?? id });
  else if (key.downArrow) setScreen({ selected: ids[(at + 1) % Math.max(1, ids.length)] ?? id });
  else if (input === 'k' || input === 'r' || input === 'i') {
    const confirming: Drastic = { verb: input === 'k' ? 'kill' : input === 'r' ? 'restart' : 'isolate', id };
    setScreen({ confirming });
    say({ kind: 'ask', text: confirmQuestion(confirming) });
  } else if (input === 'h') run('healing the network', 'network healed', () => actions.heal());
  else if (input === 't') run('ticking every replica once', 'ticked', () => actions.tick());
  else if (input === 'd') run('delivering every held message', 'delivered', () => actions.deliverAll());
  else if (input === 'x') run('dropping every held message', 'dropped', () => actions.dropAll());
  else if (input === 'p') setScreen({ proposeText: '' });
  else if (input === '?') setScreen({ helpOpen: !screen.helpOpen });
  else if (key.escape && screen.helpOpen) setScreen({ helpOpen: false });
  else if (input === 'q') run('quitting', 'bye', () => actions.quit());
}

/** What the keys that act on one held message, or on the selected replica's clock, ask for. */
type StepKey = 'previous' | 'next' | StepRelease | 'tick-selected';

/**
 * `[` and `]` move through the held messages (keys free in every layout,
 * and not the arrows, which select replicas); Enter or space delivers the
 * selected one, `u` duplicates it, `-` or Backspace drops it; `T` ticks the
 * selected replica, beside `t` for every replica.
 */
function stepKeyOf(input: string, key: Key): StepKey | null {
  if (input === '[') return 'previous';
  if (input === ']') return 'next';
  if (key.return || input === ' ') return 'deliver';
  if (input === 'u') return 'duplicate';
  if (input === '-' || key.backspace || key.delete) return 'drop';
  if (input === 'T') return 'tick-selected';
  return null;
}

/** The words for acting on one held message while it runs. */
const RELEASING: Readonly<Record<StepRelease, string>> = {
  deliver: 'delivering',
  drop: 'dropping',
  duplicate: 'duplicating',
};

/**
 * Acts on the selected held message or replica. Step mode is fixed when the
 * cluster starts, so outside it these keys are refused here, in the
 * cluster's own sentence, without asking the cluster.
 */
function handleStepKey(
  stepKey: StepKey,
  id: NodeId,
  { screen, setScreen, run, say, actions, step, held }: KeyArgs,
): void {
  if (!step) {
    say({ kind: 'error', text: NOT_STEP_MODE });
    return;
  }
  if (stepKey === 'tick-selected') {
    run(`ticking ${nodeName(id)} once`, `${nodeName(id)} ticked once`, () => actions.tickNode(id));
    return;
  }
  const at = heldIndex(held, screen.heldCursor);
  if (stepKey === 'previous' || stepKey === 'next') {
    const index = Math.max(0, Math.min(held.length - 1, at + (stepKey === 'next' ? 1 : -1)));
    setScreen({ heldCursor: { id: held[index]?.id ?? null, index } });
    return;
  }
  const message = held[at];
  if (message === undefined) {
    say({ kind: 'info', text: `nothing is held, so nothing was ${RELEASED[stepKey]}` });
    return;
  }
  // The cursor keeps its position: once this message leaves the list, the one after it is selected.
  setScreen({ heldCursor: { id: message.id, index: at } });
  run(`${RELEASING[stepKey]} ${message.id}`, `${RELEASED[stepKey]} ${message.id}`, () =>
    actions.release(stepKey, message.id),
  );
}

interface AnswerArgs {
  readonly input: string;
  readonly drastic: Drastic;
  readonly clear: () => void;
  readonly run: ActionRunner;
  readonly say: (o: Outcome) => void;
  readonly actions: DashboardActions;
}

/**
 * Only a lower-case `y` confirms. Every other key, `k` again included, calls
 * the action off and is used up doing so: a key pressed by accident must not
 * do something else instead, and a vim user's `kk` must not kill.
 */
function answerConfirmation({ input, drastic, clear, run, say, actions }: AnswerArgs): void {
  clear();
  const { verb, id } = drastic;
  const name = nodeName(id);
  if (input !== 'y') {
    say({ kind: 'info', text: `${verb} ${name} cancelled` });
    return;
  }
  const words = DRASTIC[verb];
  run(`${words.pending} ${name}`, `${name} ${words.done}`, () => actions[verb](id));
}

interface EditArgs {
  readonly input: string;
  readonly key: Key;
  readonly text: string;
  readonly setText: (text: string | null) => void;
  readonly submit: (text: string) => void;
}

/** The propose prompt's keys: Enter submits (an empty line just closes), Esc cancels, Backspace deletes. */
function editProposal({ input, key, text, setText, submit }: EditArgs): void {
  if (key.escape) setText(null);
  else if (key.return) {
    setText(null);
    if (text.trim() !== '') submit(text.trim());
  } else if (key.backspace || key.delete) setText([...text].slice(0, -1).join(''));
  else if (!key.ctrl && !key.meta && input !== '' && !/[\x00-\x1f\x7f]/.test(input)) {
    setText([...(text + input)].slice(0, MAX_PROPOSE_CHARS).join(''));
  }
}

/**
 * Runs an action and shows how it went. Outcomes of older actions that finish
 * late are dropped, so the status line always describes the latest action.
 * `say` puts up a sentence of the screen's own (a question, a cancellation)
 * and counts as the latest action too: an earlier action finishing must not
 * replace a question that is still waiting for its answer.
 */
type ActionRunner = (pending: string, done: string, action: () => Promise<string | void>) => void;

function useActionRunner(setOutcome: (o: Outcome) => void): { run: ActionRunner; say: (o: Outcome) => void } {
  const latest = useRef(0);
  const run = useCallback(
    (pending: string, done: string, action: () => Promise<string | void>) => {
      const seq = ++latest.current;
      setOutcome({ kind: 'pending', text: `${pending}…` });
      Promise.resolve()
        .then(action)
        .then(
          (result) => {
            if (seq === latest.current)
              setOutcome({ kind: 'ok', text: typeof result === 'string' && result !== '' ? result : done });
          },
          (err: unknown) => {
            if (seq === latest.current)
              setOutcome({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
          },
        );
    },
    [setOutcome],
  );
  const say = useCallback(
    (o: Outcome) => {
      ++latest.current;
      setOutcome(o);
    },
    [setOutcome],
  );
  return { run, say };
}

/** A key as Ink would have parsed it had it come alone; only what the keys above look at. */
function plainKey(over: Partial<Key>): Key {
  return {
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    ...over,
  } as Key;
}

/** Longest burst taken apart; a bigger paste is the propose prompt's business, which caps its text anyway. */
const MAX_BURST = 1000;

/**
 * Ink hands over a chunk of plain characters read at once as one input:
 * `iy` typed fast, or `px=1⏎` pasted, arrive as a single "key" that
 * matches nothing, and were lost. Such a chunk is taken apart into the keys
 * it is made of (Enter, Tab, Backspace and Ctrl letters included), so a
 * burst does what the same keys typed slowly do. Null for a single key and
 * for anything Ink already parsed as one (arrows and other escapes).
 */
export function splitBurst(input: string, key: Key): [string, Key][] | null {
  const chars = [...input];
  if (chars.length < 2 || key.meta || key.escape || input.includes('\x1b')) return null;
  return chars.slice(0, MAX_BURST).map((c): [string, Key] => {
    if (c === '\r' || c === '\n') return ['', plainKey({ return: true })];
    if (c === '\t') return ['', plainKey({ tab: true })];
    if (c === '\x7f' || c === '\b') return ['', plainKey({ backspace: true })];
    const code = must(c.codePointAt(0), 'a character of the chunk has a code point');
    if (code < 0x20) return [String.fromCharCode(code + 0x60), plainKey({ ctrl: true })];
    return [c, plainKey({ shift: c !== c.toLowerCase() })];
  });
}
