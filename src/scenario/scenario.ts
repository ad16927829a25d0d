import type { Kernel, KernelOptions } from '../kernel/index.ts';

/**
 * What a scenario expects: a clean run, or a run that reports (at least) the
 * given rule ids. `seeds: 'some'` means the rules must appear on at least one
 * of the seeds `dmabuf-lab check` tries, not necessarily on every seed (a
 * deadlock that needs an unlucky interleaving).
 */
export type Expectation =
  | { readonly verdict: 'clean' }
  | { readonly verdict: 'splat'; readonly rules: readonly string[]; readonly seeds?: 'every' | 'some' };

/** Per-run helpers handed to `setup`. */
export interface ScenarioContext {
  /** Seed of this run. */
  readonly seed: number;
  /** Add a line to the run summary (counts, measurements the scenario wants shown). */
  note(line: string): void;
}

/**
 * A runnable scenario: a name, what it shows, its expected verdict, and a
 * `setup` that creates objects and spawns the threads of the run. `setup`
 * runs outside any simulated thread, before `Kernel.run()`.
 */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly expect: Expectation;
  /** Kernel options (hz, limits, faults); the runner adds seed, chooser and checkers. */
  readonly kernel?: Omit<KernelOptions, 'seed' | 'chooser' | 'validator'>;
  /** Run with lockdep (default true). */
  readonly lockdep?: boolean;
  /** Run with the race detector and KASAN (default true; `runScenario`'s `races` option overrides it). */
  readonly races?: boolean;
  setup(k: Kernel, ctx: ScenarioContext): void;
}

/** Identity helper that gives a scenario file its type. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}
