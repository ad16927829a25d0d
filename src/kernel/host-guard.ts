/**
 * The simulation's guard against the host's nondeterminism: `Math.random()`,
 * `Date.now()`, `performance.now()`, `new Date()` / `Date()` without an
 * argument, and `process.exit()` called from a scenario's threads or its
 * `setup` fail the run, naming the thread (or setup) and the call.
 *
 * Why fail rather than answer deterministically: a run must be a function of
 * (scenario, options, schedule). Answering from the seed and the virtual
 * clock would keep that, but silently: a scenario that reads the wall clock
 * to measure something would measure virtual time without knowing it, and a
 * random draw would not be a recorded decision the explorer can vary. The
 * kernel has the deterministic answers (`k.nowNs`, `k.jiffies`,
 * `k.choose('data', options)`, a PRNG seeded from `ctx.seed`); the error
 * says which to use.
 *
 * The globals are wrapped once, the first time a kernel runs a setup or a
 * run, and the wrappers cost a set-size check when no kernel is inside a
 * thread. Only code executing as a simulated thread (or inside `setup`) is
 * refused: the host's own use between steps (progress displays, test
 * runners, a CLI's timers) goes through.
 */

/** What the guard asks of a kernel (kernel.ts implements it). */
export interface HostGuarded {
  /** The thread (or `setup`) executing right now in this kernel, or null. */
  hostCallContext(): string | null;
  /** Fail the run (or setup) for `call` made in `where`; returns the error to throw. */
  hostCallMisuse(call: HostCall, where: string): Error;
}

/** The guarded calls. */
export type HostCall = 'Math.random()' | 'Date.now()' | 'performance.now()' | 'new Date()' | 'Date()' | 'process.exit()';

// An array, not a Set: it holds zero or one kernel almost always, and a
// Set that grows and shrinks once per run reallocates its table each time
// (measured at ~4% of an exploration's time).
const subjects: HostGuarded[] = [];
let installed = false;

/** Start guarding calls made while `k` executes a thread or setup. */
export function guardEnter(k: HostGuarded): void {
  if (!installed) install();
  if (!subjects.includes(k)) subjects.push(k);
}

/** Stop guarding for `k` (its run ended, or setup returned). */
export function guardLeave(k: HostGuarded): void {
  const i = subjects.indexOf(k);
  if (i >= 0) subjects.splice(i, 1);
}

function check(call: HostCall): void {
  if (subjects.length === 0) return;
  for (const k of subjects) {
    const where = k.hostCallContext();
    if (where !== null) throw k.hostCallMisuse(call, where);
  }
}

/** How to do the same thing deterministically, per call. */
export function hostCallFix(call: HostCall): string {
  switch (call) {
    case 'Math.random()':
      return 'a run must replay exactly from its seed: take random choices from the kernel (`k.choose(\'data\', options)`, recorded in the schedule so replay and the explorer see them) or from a PRNG of your own seeded with `ctx.seed`.';
    case 'Date.now()':
    case 'performance.now()':
    case 'new Date()':
    case 'Date()':
      return 'a run must replay exactly: use the virtual clock (`k.nowNs` in ns, `k.jiffies`), which moves only with the simulation.';
    case 'process.exit()':
      return 'a simulated thread ends by returning from its function (the value it returns is its exit code); to stop the whole run, let every thread return.';
  }
}

function install(): void {
  installed = true;
  // eslint-disable-next-line no-restricted-properties -- the guard wraps the host's call
  const random = Math.random.bind(Math);
  // eslint-disable-next-line no-restricted-properties -- the guard replaces the host's call
  Math.random = function random_guarded(): number {
    check('Math.random()');
    return random();
  };
  const OrigDate = Date;
  const now = OrigDate.now.bind(OrigDate);
  OrigDate.now = function now_guarded(): number {
    check('Date.now()');
    return now();
  };
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  if (perf) {
    const perfNow = perf.now.bind(perf);
    perf.now = function now_guarded(): number {
      check('performance.now()');
      return perfNow();
    };
  }
  // new Date() and Date() without arguments read the wall clock; with one
  // they are plain conversions and stay allowed.
  globalThis.Date = new Proxy(OrigDate, {
    construct(target, args: unknown[], newTarget: () => unknown): object {
      if (args.length === 0) check('new Date()');
      return Reflect.construct(target, args, newTarget) as object;
    },
    apply(target, thisArg: unknown, args: unknown[]): string {
      check('Date()');
      return Reflect.apply(target, thisArg, args) as string;
    },
  });
  const exit = process.exit.bind(process);
  process.exit = function exit_guarded(code?: number | string | null): never {
    check('process.exit()');
    return exit(code);
  };
}
