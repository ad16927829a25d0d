/**
 * Bounded exhaustive search: stateless depth-first search over every
 * decision of a run (CHESS: Musuvathi and Qadeer, "Iterative Context
 * Bounding for Systematic Testing of Multithreaded Programs", PLDI 2007),
 * with a preemption bound and sleep sets (Godefroid, "Partial-Order Methods
 * for the Verification of Concurrent Systems", LNCS 1032, 1996) as the
 * partial-order reduction.
 *
 * Each schedule replays the decisions of the current path, then takes the
 * first allowed option at every new decision (the default order first, so
 * the first schedule is the default run). When it ends, the deepest
 * decision with an unexplored option moves on to it. A run-queue option
 * whose thread is in the sleep set is skipped: its step was explored from
 * this point already and nothing since touched what it touches, so every
 * schedule through it is equivalent to one already run. A schedule in
 * which a sleeping thread runs anyway (it was the only runnable one) is
 * abandoned as redundant.
 *
 * Deviations:
 * - the preemption bound is the adapter's: a switch away from a thread
 *   that could go on costs one, and so does running timers out of arming
 *   order or delaying an interrupt (`--faults timer,irq`); injected faults
 *   have their own bound (`--max-faults`). CHESS iterates the bound from 0
 *   up; here the bound is one number and every schedule within it is run.
 * - sleep sets with a preemption bound are not complete: a schedule whose
 *   only representatives outside the sleep set need more preemptions than
 *   the bound is not run (Musuvathi and Qadeer, "Partial-Order Reduction
 *   for Context-Bounded State Exploration", MSR-TR-2007-12, fix this; we do
 *   not). `--reduction none` has no such gap.
 * - dependence comes from observed footprints (footprint.ts): what each
 *   step touched when it was explored, not a static analysis.
 * - for workers and shards the tree is cut at a fixed depth into subtrees
 *   (tasks); a truncated search enumerates them with the sleep sets they
 *   would have in the whole search, so the split search runs exactly the
 *   schedules of the unsplit one, in the same order.
 */
import { SleepObserver, wildFootprint } from './footprint.ts';
import type { Footprint } from './footprint.ts';
import { choiceLabels } from './strategy.ts';
import type { Choice, ExecutionOutcome, Strategy } from './strategy.ts';

/** One decision on the current path. */
interface DfsNode {
  /** Labels of the allowed options, default first. */
  readonly labels: readonly string[];
  readonly runQueue: boolean;
  /** Position of the option the current path takes. */
  next: number;
  /** Threads asleep at this decision, with their footprints. */
  readonly sleep: ReadonlyMap<string, Footprint>;
  /** Options explored before `next`, with the footprint of their first step. */
  readonly done: [string, Footprint][];
  /** Footprint of the first step after taking `next` (set when that step ends). */
  childFp: Footprint | null;
}

/** A decision of a task's prefix, in serializable form. */
export interface DfsPrefixNode {
  readonly labels: readonly string[];
  readonly runQueue: boolean;
  readonly next: number;
  readonly sleep: readonly (readonly [string, readonly string[]])[];
  readonly done: readonly (readonly [string, readonly string[]])[];
}

/** A subtree of the search: the decisions leading to it, with the sleep sets the whole search has there. */
export interface DfsTask {
  readonly prefix: readonly DfsPrefixNode[];
}

/** Options of the bounded search. */
export interface DfsOptions {
  /** Use sleep sets (default true). */
  readonly reduction?: boolean;
  /** Search only below this prefix (a task). */
  readonly task?: DfsTask;
  /**
   * Enumerate tasks instead: branch only on the first `maxDepth`
   * decisions, take the first allowed option below.
   */
  readonly maxDepth?: number;
}

/** Bounded depth-first search with sleep sets. */
export class DfsStrategy implements Strategy {
  readonly name = 'dfs';
  /** Install on the kernel (`observeSteps`) when not null: the sleep sets need footprints. */
  readonly observer: SleepObserver | null;
  private readonly stack: DfsNode[];
  private readonly fixed: number;
  private readonly maxDepth: number;
  private depth = 0;
  private exhausted = false;
  /** Depth at which the current schedule was abandoned (-1: not abandoned). */
  private abandonedAt = -1;

  constructor(opts: DfsOptions = {}) {
    this.observer = (opts.reduction ?? true) ? new SleepObserver() : null;
    this.stack = (opts.task?.prefix ?? []).map(fromPrefix);
    this.fixed = this.stack.length;
    this.maxDepth = opts.maxDepth ?? Number.POSITIVE_INFINITY;
  }

  beginExecution(): boolean {
    if (this.exhausted) return false;
    this.depth = 0;
    this.abandonedAt = -1;
    this.observer?.reset();
    return true;
  }

  choose(c: Choice): number {
    const d = this.depth++;
    const obs = c.runQueue ? this.observer : null;
    if (d < this.stack.length) {
      const node = this.stack[d]!;
      if (!sameLabels(node.labels, c)) {
        throw new Error(
          `dfs: decision ${d} offers ${choiceLabels(c).join(', ')} where an earlier run of the same decisions offered ${node.labels.join(', ')}: ` +
            'the scenario is not deterministic (it must not use Math.random, Date.now, host timers or state left over from an earlier run).',
        );
      }
      if (obs) {
        obs.finishStep();
        obs.sleep = childSleep(node);
        obs.pending = node;
      }
      return node.next;
    }
    if (obs) obs.finishStep();
    const sleep = obs ? obs.sleep : EMPTY;
    if (obs?.blocked) return this.abandon(d);
    if (d >= this.maxDepth) {
      // Below the enumerated depth: the first awake option, no node.
      for (let p = 0; p < c.count; p++) if (!c.runQueue || !sleep.has(c.labelAt(p))) return p;
      return this.abandon(d);
    }
    const node: DfsNode = {
      labels: choiceLabels(c),
      runQueue: c.runQueue,
      next: -1,
      sleep: new Map(sleep),
      done: [],
      childFp: null,
    };
    const p = firstAwake(node, 0);
    if (p < 0) return this.abandon(d);
    node.next = p;
    this.stack.push(node);
    if (obs) {
      obs.sleep = childSleep(node);
      obs.pending = node;
    }
    return p;
  }

  private abandon(d: number): number {
    this.abandonedAt = d;
    return -1;
  }

  endExecution(_outcome: ExecutionOutcome): void {
    this.observer?.finishStep();
    this.backtrack();
  }

  /** True when the last schedule was sleep-set blocked (redundant). */
  get lastRedundant(): boolean {
    return this.abandonedAt >= 0 || (this.observer?.blocked ?? false);
  }

  /**
   * For task enumeration (`maxDepth`): the prefix of the schedule just run,
   * or null when it was abandoned above the enumerated depth (its subtree
   * holds no schedule). Call after the schedule, before the next begins.
   */
  taskOfLastRun(): DfsTask | null {
    if (this.abandonedAt >= 0 && this.abandonedAt < this.maxDepth) return null;
    return { prefix: this.pathSnapshot.map(toPrefix) };
  }

  private pathSnapshot: DfsNode[] = [];

  private backtrack(): void {
    if (this.maxDepth !== Number.POSITIVE_INFINITY) this.pathSnapshot = this.stack.map((n) => ({ ...n, done: n.done.slice() }));
    const reduce = this.observer !== null;
    while (this.stack.length > this.fixed) {
      const node = this.stack[this.stack.length - 1]!;
      if (reduce && node.runQueue) node.done.push([node.labels[node.next]!, node.childFp ?? wildFootprint()]);
      const p = firstAwake(node, node.next + 1);
      if (p >= 0) {
        node.next = p;
        node.childFp = null;
        return;
      }
      this.stack.pop();
    }
    this.exhausted = true;
  }

  /** True once every schedule below the task was run. */
  get done(): boolean {
    return this.exhausted;
  }
}

const EMPTY: ReadonlyMap<string, Footprint> = new Map();

function firstAwake(node: DfsNode, from: number): number {
  for (let p = from; p < node.labels.length; p++) {
    if (!node.runQueue || !node.sleep.has(node.labels[p]!)) return p;
  }
  return -1;
}

/** The sleep set at the start of the step taken at `node`: asleep there, or explored before it; not the one taken. */
function childSleep(node: DfsNode): Map<string, Footprint> {
  const s = new Map(node.sleep);
  for (const [name, fp] of node.done) s.set(name, fp);
  s.delete(node.labels[node.next]!);
  return s;
}

function sameLabels(a: readonly string[], c: Choice): boolean {
  if (a.length !== c.count) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== c.labelAt(i)) return false;
  return true;
}

function toPrefix(n: DfsNode): DfsPrefixNode {
  return {
    labels: n.labels.slice(),
    runQueue: n.runQueue,
    next: n.next,
    sleep: [...n.sleep].map(([k, fp]) => [k, [...fp].sort()] as const),
    done: n.done.map(([k, fp]) => [k, [...fp].sort()] as const),
  };
}

function fromPrefix(p: DfsPrefixNode): DfsNode {
  return {
    labels: p.labels.slice(),
    runQueue: p.runQueue,
    next: p.next,
    sleep: new Map(p.sleep.map(([k, fp]) => [k, new Set(fp)] as const)),
    done: p.done.map(([k, fp]) => [k, new Set(fp)] as [string, Footprint]),
    childFp: null,
  };
}
