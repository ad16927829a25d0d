/**
 * The strategy interface every search strategy implements (random, PCT,
 * bounded exhaustive search, replay), and the vocabulary they share: fault
 * kinds, one decision as a strategy sees it, one schedule's outcome.
 *
 * A strategy never sees the kernel: the `ExploreChooser` (choice-adapter.ts)
 * sits between them. It applies the options that hold for every strategy
 * (which fault kinds are explorable, the fault budget, interrupts delivered
 * eagerly unless `irq` is explorable), computes the default option and what
 * each other option costs (a preemption, a fault), and hands the strategy
 * the options it may take, default first.
 */
import type { ChoiceKind, ChoiceOption, Thread } from '../kernel/index.ts';

/**
 * What `--faults` switches on besides thread order: allocation failure,
 * forced ww_mutex back-off, device faults (engine hangs and resets), the
 * order of timers expiring at the same instant, interrupt delivery (when an
 * IRQ or softirq context runs; off, it runs at the next scheduling point
 * after it is raised), and signals (one arriving during an interruptible
 * sleep of a task that takes signals: a user process's thread, or a kthread
 * after `allowSignal`; the wait then ends with -ERESTARTSYS / -EINTR).
 */
export type FaultKind = 'alloc' | 'ww' | 'hang' | 'timer' | 'irq' | 'signal';

/** Every fault kind, in the order `--faults` lists them. */
export const FAULT_KINDS: readonly FaultKind[] = ['alloc', 'ww', 'hang', 'timer', 'irq', 'signal'];

/** The fault kinds that are injections (a yes/no decision at a site, counted against `--max-faults`). */
export type InjectedFaultKind = 'alloc' | 'ww' | 'hang' | 'signal';

/** The kernel's injection kind behind each injected-fault kind. */
export const INJECT_KIND: Readonly<Record<InjectedFaultKind, ChoiceKind>> = {
  alloc: 'alloc',
  ww: 'ww-slowpath',
  hang: 'device',
  signal: 'signal',
};

/** What taking an option costs against the schedule's budgets. */
export const Cost = {
  /** The default option, or a free switch (the last thread blocked, exited or yielded). */
  FREE: 0,
  /** An involuntary switch: the last thread could go on (CHESS's preemption), or an order deviation (timers, interrupts). */
  PREEMPTION: 1,
  /** An injected fault (allocation failure, forced back-off, device fault). */
  FAULT: 2,
} as const;
export type CostKind = (typeof Cost)[keyof typeof Cost];

/**
 * One decision as a strategy sees it: `count` options it may take,
 * numbered from 0 (the default) in a fixed order (the default, then the
 * others in the kernel's order). The adapter reuses one object for every
 * decision of a run and computes labels only when asked, so a strategy
 * must copy what it keeps.
 */
export interface Choice {
  /** `thread` (the run queue, or a workqueue's ready items), `timer`, `data`, or an injection kind. */
  readonly kind: ChoiceKind;
  /** True for the run queue (options are threads); false for other `thread` choices (workqueue items). */
  readonly runQueue: boolean;
  /** True for an injection point: option 0 is `ok`, option 1 is `fail`. */
  readonly inject: boolean;
  /** The kernel's options (threads for the run queue); empty for injection points. */
  readonly options: readonly ChoiceOption[];
  /** Options the strategy may take (at least 2). */
  readonly count: number;
  /** The kernel's index of option `p`. */
  at(p: number): number;
  /** What option `p` costs. */
  costAt(p: number): CostKind;
  /** The label of option `p` (thread name, timer label, `ok` / `fail`). */
  labelAt(p: number): string;
  /** Number of this decision in the run, from 0 (every decision the adapter sees, forced or not). */
  readonly index: number;
  /** Number of this run-queue decision in the run, from 0. */
  readonly threadIndex: number;
  /** Number of this injection point in the run, from 0. */
  readonly injectIndex: number;
  /** The kernel's scheduling step count at this decision (every step, forced or not). */
  readonly step: number;
  /** Run queue: the thread that ran last (it parked, blocked or exited just now); null at the start. */
  readonly prev: Thread | null;
  /** Injection point: its site and occurrence, as the kernel names it in schedules (`site#n`). */
  readonly site: string;
  /** Other decisions: how many of this kind came before in the run. */
  readonly ordinal: number;
}

/** The labels of every option of `c`, in order. */
export function choiceLabels(c: Choice): string[] {
  const out: string[] = [];
  for (let p = 0; p < c.count; p++) out.push(c.labelAt(p));
  return out;
}

/**
 * A decision's name, stable when earlier decisions change: the run-queue
 * decision made when thread T passed its n-th scheduling point (`T@n`, with
 * `~` when it blocked there and `!` when it exited), the injection point by
 * site and occurrence, the n-th timer or data decision. Shrinking replays
 * deviations by these names (decision numbers shift as soon as an earlier
 * deviation is removed).
 */
export function decisionName(
  c: Pick<Choice, 'kind' | 'runQueue' | 'inject' | 'site' | 'ordinal'> & {
    readonly prev: Pick<Thread, 'name' | 'points' | 'state'> | null;
  },
): string {
  if (c.inject) return `${c.kind}:${c.site}`;
  if (c.runQueue) {
    const p = c.prev;
    if (p === null) return '^';
    return `${p.name}@${p.points}${p.state === 'exited' ? '!' : p.state === 'blocked' ? '~' : ''}`;
  }
  return `${c.kind}#${c.ordinal}`;
}

/** How a schedule ended, as the strategy needs to know it. */
export interface ExecutionOutcome {
  /** The schedule repeated one already explored (dfs sleep sets) and was cut short. */
  readonly redundant: boolean;
  /** Decisions the adapter saw. */
  readonly decisions: number;
  /** Run-queue decisions. */
  readonly threadDecisions: number;
  /** Injection points of explorable kinds. */
  readonly injectPoints: number;
  /** Threads the run created. */
  readonly threads: number;
  /** Scheduling steps the run took (the kernel's count: every switch, forced or not). */
  readonly steps: number;
}

/**
 * A search strategy: answers every decision of a schedule. Strategies are
 * deterministic functions of their options and the schedule index, so a
 * schedule can be run by any worker or shard and give the same result.
 */
export interface Strategy {
  readonly name: string;
  /** Start schedule `index` (numbered within the strategy's task). False when there is none. */
  beginExecution(index: number): boolean;
  /**
   * The option (0 .. `c.count` - 1) to take, or -1 to abandon the
   * schedule (it would repeat one already explored).
   */
  choose(c: Choice): number;
  /** The schedule ended. */
  endExecution(outcome: ExecutionOutcome): void;
}

/** Seed of schedule `index` of an exploration seeded with `seed` (splitmix-style mix: nearby indices give unrelated seeds). */
export function scheduleSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
