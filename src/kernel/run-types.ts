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

/**
 * The largest limits a run accepts. Steps: a run records one schedule entry
 * per decision in arrays, whose length JavaScript caps at 2^32 - 1. Virtual
 * time: nanoseconds are exact as JavaScript numbers up to 2^53 - 1 (about
 * 104 days); `--max-time-ms` is that in whole milliseconds.
 */
export const LIMIT_BOUNDS: Readonly<KernelLimits> = {
  maxSteps: 2 ** 32 - 1,
  maxVirtualTimeNs: Number.MAX_SAFE_INTEGER,
};

/** The largest `--max-time-ms` (and `maxVirtualTimeNs` in whole ms). */
export const MAX_TIME_MS_BOUND = Math.floor(LIMIT_BOUNDS.maxVirtualTimeNs / 1e6);

/**
 * What is wrong with `limits` (a partial set, as a scenario or a caller
 * gives it), one phrase per field naming it and the accepted range, or an
 * empty list. `where` prefixes the field names (`kernel.limits.`).
 *
 * @kernel none: the model's own run limits (the kernel runs until it stops)
 */
export function limitProblems(limits: unknown, where = ''): string[] {
  if (limits === undefined) return [];
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits))
    return [`${where || 'limits'} must be an object such as { maxSteps: 100000 }, got ${describeValue(limits)}`];
  const out: string[] = [];
  const l = limits as Record<string, unknown>;
  for (const key of Object.keys(l)) {
    const v = l[key];
    if (v === undefined) continue;
    if (key === 'maxSteps') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMIT_BOUNDS.maxSteps)
        out.push(`${where}maxSteps must be a whole number from 1 to ${LIMIT_BOUNDS.maxSteps} (as --max-steps), got ${describeValue(v)}`);
    } else if (key === 'maxVirtualTimeNs') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMIT_BOUNDS.maxVirtualTimeNs)
        out.push(`${where}maxVirtualTimeNs must be a whole number of ns from 1 to ${LIMIT_BOUNDS.maxVirtualTimeNs} (as --max-time-ms, up to ${MAX_TIME_MS_BOUND} ms), got ${describeValue(v)}`);
    } else {
      out.push(`${where}${key} is not a limit (the limits are maxSteps and maxVirtualTimeNs)`);
    }
  }
  return out;
}

/**
 * A value as an error message shows it: `-1`, `NaN`, `"ten" (a string)`.
 *
 * @kernel none: message text of the model's argument checks
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)} (a string)`;
  if (typeof v === 'bigint') return `${v}n (a bigint)`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'boolean') return String(v);
  return 'undefined';
}

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
   * `interrupted`: whoever drives the run stopped it (`Kernel.interrupt`:
   * Ctrl-C, a wall-clock limit, the end of a partial schedule).
   */
  readonly kind: 'thread-exception' | 'foreign-await' | 'misuse' | 'replay-divergence' | 'abandoned' | 'interrupted';
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

/**
 * Misuse of the library detected by the kernel (a bad argument, a host
 * clock or `process.exit` called from a thread): thrown into the caller, and
 * the run fails with kind `misuse` naming the thread. The message says how
 * to fix the call.
 *
 * @kernel none: the model's library-misuse error (C's types and the compiler catch most of these in the kernel)
 */
export class KernelMisuse extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelMisuse';
  }
}
