/**
 * Breadth-first search over the schedules of a small cluster. A state is
 * kept as the last action that reached it and a link to its parent (the
 * search tree), and reached again by replaying its path; the set of visited
 * states keeps one hash each. Breadth first, so the first violation found is
 * at the smallest depth any violation has within the bounds: a shortest
 * counterexample (up to states merged by their hash, see `ExploreWorld.encode`).
 *
 * Per state the search keeps 20 bytes of hash in the visited set and, while
 * the state is in the tree, one node (a parent link and a command string).
 * Expanding a state costs one replay of its path per enabled action.
 */
import { stuckAfterFaults } from './liveness.js';
import { type ExploreSettings, ExploreWorld, type Step } from './world.js';

export interface SearchBounds {
  /** Actions along one path, at most. */
  readonly depth: number;
  /** Transitions to try, at most. */
  readonly maxStates: number;
  readonly timeMs: number;
  /** Check "nothing stuck" at every distinct state (a fair schedule after faults stop must decide): costly. */
  readonly liveness?: boolean;
}

export interface Progress {
  readonly depth: number;
  readonly explored: number;
  readonly distinct: number;
  readonly elapsedMs: number;
}

export type Limit = 'none' | 'depth' | 'max-states' | 'time';

export interface SearchResult {
  /** Transitions tried: every enabled action of every expanded state. */
  readonly explored: number;
  /** Distinct states reached (by hash), the initial one included. */
  readonly distinct: number;
  /** The deepest level completely expanded (every state at it tried every action). */
  readonly depthCompleted: number;
  /** The deepest state reached. */
  readonly depthReached: number;
  readonly elapsedMs: number;
  /** Which bound stopped the search; 'none' when the whole space within the depth was explored. */
  readonly limit: Limit;
  /** The path to the first violation, its last step the violating one. */
  readonly counterexample: { readonly steps: readonly Step[]; readonly violation: string } | null;
}

interface TreeNode {
  readonly parent: TreeNode | null;
  readonly command: string;
}

export function pathOf(node: TreeNode | null): string[] {
  const commands: string[] = [];
  for (let n = node; n !== null && n.parent !== null; n = n.parent) commands.push(n.command);
  return commands.reverse();
}

export interface SearchOptions {
  readonly settings: ExploreSettings;
  readonly bounds: SearchBounds;
  /** Called about once a second, and at the end. */
  readonly onProgress?: (p: Progress) => void;
  /** Milliseconds since some fixed point (injected so the search itself reads no clock). */
  readonly now: () => number;
  /**
   * Commands after the setup that every path starts with (`--from`: a scenario's prefix), so a search can begin
   * deep in a schedule; depths count from its end. None by default.
   */
  readonly start?: readonly string[];
}

export function search(o: SearchOptions): SearchResult {
  const start = o.now();
  let root: TreeNode = { parent: null, command: '' };
  for (const command of o.start ?? []) root = { parent: root, command };
  const first = ExploreWorld.replay(o.settings, o.start ?? []);
  const visited = new Set<string>([first.hash()]);
  let explored = 0;
  let depthCompleted = 0;
  let deepest = 0;
  let lastProgress = start;
  let level: TreeNode[] = [root];
  const result = (limit: Limit, counterexample: SearchResult['counterexample'] = null): SearchResult => {
    const r = {
      explored,
      distinct: visited.size,
      depthCompleted,
      depthReached: counterexample?.steps.length ?? deepest,
      elapsedMs: o.now() - start,
      limit,
      counterexample,
    };
    o.onProgress?.({ depth: r.depthReached, explored, distinct: visited.size, elapsedMs: r.elapsedMs });
    return r;
  };
  if (first.violation !== null) return result('none', { steps: first.steps, violation: first.violation });
  for (let depth = 0; depth < o.bounds.depth && level.length > 0; depth++) {
    const next: TreeNode[] = [];
    for (const node of level) {
      const path = pathOf(node);
      const templates = ExploreWorld.replay(o.settings, path).enabled();
      for (const t of templates) {
        if (explored >= o.bounds.maxStates) return result('max-states');
        const now = o.now();
        if (now - start >= o.bounds.timeMs) return result('time');
        if (now - lastProgress >= 1000) {
          lastProgress = now;
          o.onProgress?.({ depth: depth + 1, explored, distinct: visited.size, elapsedMs: now - start });
        }
        const world = ExploreWorld.replay(o.settings, path);
        const step = applyGuarded(world, t);
        if (step === null) continue;
        explored++;
        if (step.violation !== null) return result('none', { steps: world.steps, violation: step.violation });
        const h = world.hash();
        if (visited.has(h)) continue;
        visited.add(h);
        if (o.bounds.liveness === true) {
          const stuck = stuckAfterFaults(ExploreWorld.replay(o.settings, [...path, step.command]));
          if (stuck !== null) return result('none', { steps: world.steps, violation: stuck });
        }
        next.push({ parent: node, command: step.command });
        deepest = depth + 1;
      }
    }
    depthCompleted = depth + 1;
    level = next;
  }
  return result(level.length > 0 ? 'depth' : 'none');
}

/** An action whose run throws inside the shell is a violation too: the replica failed loudly on a state it reached. */
export function applyGuarded(world: ExploreWorld, t: Parameters<ExploreWorld['apply']>[0]): Step | null {
  try {
    return world.apply(t);
  } catch (err) {
    const command = describeTemplate(t);
    const step = {
      command,
      trace: `error: ${(err as Error).message}`,
      violation: `the replica threw: ${(err as Error).message}`,
    };
    world.steps.push(step);
    return step;
  }
}

function describeTemplate(t: Parameters<ExploreWorld['apply']>[0]): string {
  if ('from' in t) return `${t.kind} ${t.from} ${t.to} ${t.type}`;
  if ('node' in t) return `${t.kind} ${t.node}`;
  return `${t.kind} #${t.index}`;
}
