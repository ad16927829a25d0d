/**
 * Probabilistic concurrency testing (PCT): Burckhardt, Kothari, Musuvathi
 * and Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of
 * Finding Bugs", ASPLOS 2010. Each thread gets a random priority above
 * `d`; `d - 1` change points are drawn among the `k` steps; the highest
 * priority runnable thread always runs, and the thread about to run at the
 * i-th change point drops to priority i. A bug of depth `d` (needing `d`
 * ordering constraints) is then hit with probability at least
 * 1 / (n * k^(d-1)) per schedule, for n threads and k steps.
 *
 * Deviations from the paper:
 * - k is the number of scheduling steps (every switch, forced or not) of a
 *   default run made once per exploration, since the paper needs k up
 *   front; threads created later get their random priority when first seen
 *   (i.i.d. uniform keys above d order threads like the paper's random
 *   permutation);
 * - the strategy only sees steps where more than one thread may run: a
 *   change point that falls on a step with a single runnable thread takes
 *   effect at the next step with a choice, lowering the thread about to run
 *   there (and at a change point with a choice, the thread about to run is
 *   lowered and the highest remaining one runs);
 * - after 20 k steps the schedule finishes uniformly at random, so a thread
 *   spinning with `cond_resched` cannot starve a lower-priority one forever
 *   (PCT assumes programs without spin loops);
 * - schedule 0 is the default order (no priorities, no fault): the run that
 *   gives k and n;
 * - decisions other than the run queue (timer order, workqueue items, data)
 *   are uniform; injected faults follow the per-schedule fault plan.
 */
import { Prng } from '../kernel/index.ts';
import { faultPlan } from './fault-plan.ts';
import { scheduleSeed } from './strategy.ts';
import type { Choice, Strategy } from './strategy.ts';

/** Options of PCT. */
export interface PctOptions {
  readonly seed: number;
  /** Bug depth d (>= 1): d - 1 priority change points per schedule. */
  readonly depth: number;
  /** Steps k of a default run (the kernel's scheduling steps). */
  readonly steps: number;
  readonly injectPoints: number;
  readonly maxFaults: number;
}

/** The per-schedule lower bound PCT guarantees: 1 / (n * k^(d-1)). */
export function pctGuarantee(threads: number, steps: number, depth: number): number {
  const n = Math.max(1, threads);
  const k = Math.max(1, steps);
  return 1 / (n * k ** Math.max(0, depth - 1));
}

/** PCT with depth d. */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private prng = new Prng(0);
  private readonly priority = new Map<string, number>();
  /** Change points: the step each is at and the priority it gives, by step. */
  private changes: [number, number][] = [];
  /** Next change point not applied yet. */
  private nextChange = 0;
  private fail: ReadonlySet<number> = new Set();
  private readonly fairAfter: number;
  private defaultRun = false;

  constructor(private readonly opts: PctOptions) {
    if (!Number.isInteger(opts.depth) || opts.depth < 1) throw new Error(`PCT depth must be a whole number >= 1, got ${opts.depth}`);
    this.fairAfter = 20 * Math.max(1, opts.steps);
  }

  beginExecution(index: number): boolean {
    const { seed, depth, steps } = this.opts;
    this.defaultRun = index === 0;
    this.prng = new Prng(scheduleSeed(seed, index));
    this.priority.clear();
    const k = Math.max(1, steps);
    // d - 1 distinct change points among steps 1..k (fewer when k < d - 1).
    const at = new Map<number, number>();
    for (let i = 1; i < depth && at.size < k; i++) {
      let s = 1 + this.prng.below(k);
      while (at.has(s)) s = (s % k) + 1;
      at.set(s, i);
    }
    this.changes = [...at].sort((a, b) => a[0] - b[0]);
    this.nextChange = 0;
    this.fail = faultPlan(seed, index, this.opts.injectPoints, this.opts.maxFaults);
    return true;
  }

  choose(c: Choice): number {
    if (this.defaultRun) return 0;
    if (c.inject) return this.fail.has(c.injectIndex) ? 1 : 0;
    if (!c.runQueue || c.step >= this.fairAfter) return this.prng.below(c.count);
    let best = this.highest(c);
    // Change points reached since the last decision (see the deviations above).
    while (this.nextChange < this.changes.length && this.changes[this.nextChange]![0] <= c.step) {
      this.priority.set(c.labelAt(best), this.changes[this.nextChange++]![1]);
      best = this.highest(c);
    }
    return best;
  }

  private highest(c: Choice): number {
    let best = 0;
    let bestPrio = -1;
    for (let p = 0; p < c.count; p++) {
      const name = c.labelAt(p);
      let prio = this.priority.get(name);
      if (prio === undefined) {
        prio = this.opts.depth + this.prng.unit();
        this.priority.set(name, prio);
      }
      if (prio > bestPrio) {
        bestPrio = prio;
        best = p;
      }
    }
    return best;
  }

  endExecution(): void {
    // Priorities and change points are drawn afresh for every schedule.
  }
}
