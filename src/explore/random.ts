/**
 * The random strategy: every decision uniform over the options the adapter
 * allows, from a PRNG seeded per schedule (`scheduleSeed(seed, index)`), so
 * schedule i is the same whichever worker or shard runs it. Injected faults
 * follow a per-schedule plan (`faultPlan`) over the injection points a
 * default run reaches, at most `--max-faults` of them.
 *
 * Schedule 0 is the default order (no deviation, no fault): the run every
 * exploration starts with, whose counts (threads, steps, injection points)
 * parameterize the others.
 *
 * This is the baseline every systematic tool offers (shuttle's
 * RandomScheduler, fast-check's scheduler). Unlike `run --seed`, whose
 * kernel chooser also picks when an interrupt runs, interrupts are
 * delivered at the next scheduling point unless `--faults irq` is given.
 */
import { Prng } from '../kernel/index.ts';
import { faultPlan } from './fault-plan.ts';
import { scheduleSeed } from './strategy.ts';
import type { Choice, Strategy } from './strategy.ts';

/** Options of the random strategy. */
export interface RandomOptions {
  readonly seed: number;
  /** Injection points of a default run (the fault plan draws among them). */
  readonly injectPoints: number;
  readonly maxFaults: number;
}

/** Uniform random choices, seeded per schedule. */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private prng = new Prng(0);
  private fail: ReadonlySet<number> = new Set();
  private defaultRun = false;

  constructor(private readonly opts: RandomOptions) {}

  beginExecution(index: number): boolean {
    this.defaultRun = index === 0;
    this.prng = new Prng(scheduleSeed(this.opts.seed, index));
    this.fail = faultPlan(this.opts.seed, index, this.opts.injectPoints, this.opts.maxFaults);
    return true;
  }

  choose(c: Choice): number {
    if (this.defaultRun) return 0;
    if (c.inject) return this.fail.has(c.injectIndex) ? 1 : 0;
    return this.prng.below(c.count);
  }

  endExecution(): void {
    // Nothing carries over from one schedule to the next.
  }
}
