/**
 * Builds the Kernel a scenario runs on, with the checkers installed: lockdep
 * (unless the scenario opts out), the race detector and KASAN (unless switched
 * off) and the object-lifetime tracker, through the checker layer's
 * `createCheckedKernel`.
 */
import { createCheckedKernel, LockdepGraph } from '../check/index.ts';
import type { Kernel, KernelOptions } from '../kernel/index.ts';

/**
 * Create the kernel for one scenario run. `graph` is a lockdep dependency
 * graph (`LockdepGraph`) to keep across the runs of an exploration; by
 * default each run gets a fresh one.
 */
export function createScenarioKernel(
  opts: KernelOptions,
  checkers: { lockdep: boolean; graph?: unknown; races?: boolean },
): Kernel {
  const { graph } = checkers;
  if (graph !== undefined && !(graph instanceof LockdepGraph)) {
    throw new Error(
      'runScenario: `graph` must be a LockdepGraph (new LockdepGraph() from src/check/index.ts)',
    );
  }
  return createCheckedKernel({ ...opts, lockdep: checkers.lockdep, races: checkers.races ?? true, ...(graph ? { graph } : {}) });
}
