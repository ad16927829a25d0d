import type { Chooser, FaultRates, Schedule } from './chooser.ts';
import type { LockValidator } from './lock-validator.ts';
import type { HbChecker } from './hb.ts';
import type { Splat } from './splat.ts';
import type { FoldedFrame } from './stack.ts';

/*
 * A run's configuration (options and limits) and what it produces (result,
 * failure, end reason): the contract between the kernel and whoever drives it.
 */

/** Limits of one run; each has a default and is printed with the run. */
export interface KernelLimits {
  /** Scheduling steps before the run is stopped (default 5,000,000). */
  maxSteps: number;
  /** Virtual time in ns before the run is stopped (default 3,600 s). */
  maxVirtualTimeNs: number;
}

/** The limits of a run that neither the scenario nor the caller sets. */
export const DEFAULT_LIMITS: Readonly<KernelLimits> = {
  maxSteps: 5_000_000,
  maxVirtualTimeNs: 3_600e9,
};

/** Options of a `Kernel`: seed, timer frequency, limits, decision source, fault rates, checkers. */
export interface KernelOptions {
  /** Seed of the default chooser (default 1). */
  seed?: number;
  /** Timer frequency for jiffies (default 1000). */
  hz?: number;
  limits?: Partial<KernelLimits>;
  /** Decision source; default a `PrngChooser` seeded with `seed`. */
  chooser?: Chooser;
  /** Fault-injection rates for the default chooser. */
  faults?: FaultRates;
  /** Lock validator (lockdep from the checker layer). */
  validator?: LockValidator | null;
  /** Happens-before / lifetime checker (race detector and KASAN from the checker layer). */
  hb?: HbChecker | null;
  /**
   * Capture TypeScript backtraces of lock acquisitions, blocking waits and
   * reports (slower; the CLI turns it on when it replays a run that
   * reported something). Never changes the event stream or the schedule.
   */
  captureStacks?: boolean;
  /** Record every decision, including those with one option, for debugging (default false). */
  recordAll?: boolean;
}

/** Why a run ended. */
export type RunEnd = 'completed' | 'deadlock' | 'step-limit' | 'time-limit' | 'failed';

/**
 * A run that could not be carried out as a simulation: the scenario threw,
 * awaited something outside the kernel, or misused the library. Distinct from
 * splats, which are rule violations of the simulated system.
 */
export interface RunFailure {
  /**
   * `abandoned`: the explorer stopped the run on purpose (its remaining steps
   * would only repeat schedules already explored); never a scenario problem.
   */
  readonly kind: 'thread-exception' | 'foreign-await' | 'misuse' | 'replay-divergence' | 'abandoned';
  readonly message: string;
  readonly thread: string | null;
  readonly error?: unknown;
  /** Where it was thrown (from the error's own stack, so always present for a throw): user frames, library folded. */
  readonly stack?: readonly FoldedFrame[];
}

/** What `Kernel.run` returns. */
export interface RunResult {
  readonly end: RunEnd;
  readonly splats: readonly Splat[];
  readonly failure: RunFailure | null;
  readonly timeNs: number;
  readonly steps: number;
  readonly seed: number;
  readonly schedule: Schedule;
  readonly limits: KernelLimits;
  /** Name and exit code of every thread that exited. */
  readonly exits: ReadonlyMap<string, number>;
}

/**
 * Thrown inside a thread to end it the way BUG() ends a task; the run goes on.
 *
 * @kernel none: how the model unwinds a task BUG() kills (make_task_dead in the kernel)
 */
export class ThreadKilled extends Error {
  constructor(readonly code: number) {
    super(`thread killed (${code})`);
  }
}
