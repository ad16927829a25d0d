import { Kernel } from '../kernel/index.ts';
import type { KernelOptions } from '../kernel/index.ts';
import { LockdepGraph } from './graph.ts';
import { installLifetimeTracker } from './lifetime.ts';
import { Lockdep } from './lockdep.ts';
import { RaceDetector } from './races.ts';

/** Options of `createCheckedKernel`: kernel options plus the checkers. */
export interface CheckedKernelOptions extends KernelOptions {
  /** `false`: no lockdep; a `Lockdep`: use it; default: a new one. */
  lockdep?: boolean | Lockdep;
  /** Dependency graph to validate against (keep one across the runs of an exploration); default a new one. */
  graph?: LockdepGraph;
  /** Record the `dma_resv_lockdep` priming order (default true). */
  priming?: boolean;
  /**
   * The happens-before race detector and KASAN (default true): `false` for
   * none, a `RaceDetector` to use that one.
   */
  races?: boolean | RaceDetector;
}

/**
 * A `Kernel` with the checkers installed: lockdep as its validator (with the
 * resv priming, unless disabled), the race detector and KASAN (unless
 * disabled) and the kref lifetime tracker with its end-of-run leak check.
 * The tracker is installed even without lockdep.
 *
 * @kernel CONFIG_PROVE_LOCKING, CONFIG_DEBUG_ATOMIC_SLEEP, CONFIG_KCSAN, CONFIG_KASAN, kmemleak: a debug kernel
 */
export function createCheckedKernel(opts: CheckedKernelOptions = {}): Kernel {
  const { lockdep, graph, priming, races, ...kernelOpts } = opts;
  if (graph !== undefined && !(graph instanceof LockdepGraph)) {
    throw new Error('createCheckedKernel: `graph` must be a LockdepGraph (new LockdepGraph() from the checker layer)');
  }
  let ld: Lockdep | null = null;
  if (lockdep instanceof Lockdep) ld = lockdep;
  else if (lockdep !== false) ld = new Lockdep(graph, priming === undefined ? {} : { priming });
  const hb = races instanceof RaceDetector ? races : races === false ? null : new RaceDetector();
  const k = new Kernel({ ...kernelOpts, validator: ld, hb });
  hb?.attach(k);
  if (ld) ld.attach(k);
  else installLifetimeTracker(k);
  return k;
}

/**
 * The race detector installed on `k`, or null when it runs without one.
 *
 * @kernel none: the race detector is model machinery (KCSAN and KASAN are global in the kernel)
 */
export function raceDetectorOf(k: Kernel): RaceDetector | null {
  return k.hb instanceof RaceDetector ? k.hb : null;
}

/**
 * The lockdep validator installed on `k`, or null when it runs without lockdep.
 *
 * @kernel none: lockdep is global in the kernel; the model has one validator per simulated kernel
 */
export function lockdepOf(k: Kernel): Lockdep | null {
  return k.validator instanceof Lockdep ? k.validator : null;
}
