import { Prng } from './prng.ts';

/**
 * The kinds of nondeterministic decision a run makes. Every one goes through
 * `Chooser.choose`, so a strategy (random, PCT, exhaustive, replay) controls
 * all of them.
 */
export type ChoiceKind =
  | 'thread' // which runnable thread runs next
  | 'timer' // which of several timers expiring at the same instant fires first
  | 'alloc' // whether an allocation fails (fault injection)
  | 'ww-slowpath' // whether a ww_mutex acquisition is forced to back off
  | 'device' // device faults: hangs, resets
  | 'reclaim' // whether a blocking allocation enters direct reclaim
  | 'data' // any other value a scenario asks the chooser for
  | 'signal'; // whether a signal arrives during an interruptible sleep of a task that takes signals

/** One option offered to the chooser; its label names it in a recorded schedule. */
export interface ChoiceOption {
  readonly label: string;
}

/** One recorded decision: the kind and the label of the option taken. */
export interface Decision {
  readonly kind: ChoiceKind;
  readonly label: string;
}

/**
 * A run's schedule: every decision that had more than one option, by name.
 * Naming (thread label, timer label, `fail`/`ok`) rather than indexing lets a
 * replay survive small edits to the scenario.
 */
export interface Schedule {
  readonly seed: number;
  readonly decisions: readonly Decision[];
}

/**
 * The single source of nondeterminism. `choose` returns the index of the
 * option to take; `options.length` is always at least 2.
 */
export interface Chooser {
  choose(kind: ChoiceKind, options: readonly ChoiceOption[]): number;
  /** Probability-style faults: return true to inject. Only asked when the fault is enabled. */
  inject(kind: ChoiceKind, site: string): boolean;
}

/** Fault-injection rates for the default chooser (probabilities in [0, 1]). */
export interface FaultRates {
  alloc?: number;
  'ww-slowpath'?: number;
  device?: number;
  reclaim?: number;
  /** Interruptible sleeps of tasks that take signals (`Thread.signalsAllowed`) broken by a signal. */
  signal?: number;
}

/**
 * The default chooser: a seeded PRNG, uniform over options, with fault rates.
 *
 * @kernel none: the model's seeded source of nondeterminism (timing and hardware in the kernel)
 */
export class PrngChooser implements Chooser {
  readonly prng: Prng;

  constructor(
    seed: number,
    private readonly rates: FaultRates = {},
  ) {
    this.prng = new Prng(seed);
  }

  choose(_kind: ChoiceKind, options: readonly ChoiceOption[]): number {
    return this.prng.below(options.length);
  }

  inject(kind: ChoiceKind): boolean {
    const rate = (this.rates as Record<string, number | undefined>)[kind] ?? 0;
    return rate > 0 && this.prng.unit() < rate;
  }
}

/**
 * The name of option `i` in a schedule: its label, or `label~n` for the n-th
 * (n >= 2) of several options sharing a label (two timers named alike), so
 * that a replay takes the same one.
 *
 * @kernel none: a schedule label of the model's chooser
 */
export function optionLabel(options: readonly ChoiceOption[], i: number): string {
  const label = options[i]!.label;
  let n = 1;
  for (let j = 0; j < i; j++) if (options[j]!.label === label) n++;
  return n === 1 ? label : `${label}~${n}`;
}

/**
 * Schedule label of the `n`-th injection asked at `site` (n from 1): `inject:site`, then `inject:site#n`.
 *
 * @kernel none: a schedule label of the model's chooser
 */
export function injectLabel(site: string, n: number): string {
  return n === 1 ? `inject:${site}` : `inject:${site}#${n}`;
}

/**
 * Raised when a replayed schedule no longer matches the run (the scenario changed too much).
 *
 * @kernel none: a replay error of the model
 */
export class ScheduleDivergence extends Error {
  constructor(
    readonly index: number,
    readonly expected: Decision | undefined,
    readonly offered: string[],
  ) {
    super(
      expected
        ? `replay diverged at decision ${index}: the schedule says ${expected.kind} "${expected.label}" but the run offers ${offered.map((l) => `"${l}"`).join(', ')}`
        : `replay diverged at decision ${index}: the schedule has no more decisions but the run offers ${offered.map((l) => `"${l}"`).join(', ')}`,
    );
  }
}

/**
 * Replays a recorded schedule decision by decision, matching by label. Fault
 * injections are replayed from the recorded `inject:<site>[#<occurrence>]`
 * decisions (occurrences counted per kind and site, as `Kernel.inject` does).
 *
 * @kernel none: replays a recorded schedule of the model
 */
export class ReplayChooser implements Chooser {
  private next = 0;
  /** Calls of `inject` per kind and site, to match the recorded occurrence. */
  private readonly injectSites = new Map<string, number>();

  constructor(private readonly schedule: Schedule) {}

  choose(kind: ChoiceKind, options: readonly ChoiceOption[]): number {
    const d = this.schedule.decisions[this.next];
    if (d?.kind === kind) {
      for (let i = 0; i < options.length; i++) {
        if (options[i]!.label === d.label) {
          this.next++;
          return i;
        }
      }
      // A later option among several with the same label (see optionLabel).
      if (d.label.includes('~')) {
        for (let i = 0; i < options.length; i++) {
          if (optionLabel(options, i) === d.label) {
            this.next++;
            return i;
          }
        }
      }
    }
    throw new ScheduleDivergence(
      this.next,
      d,
      options.map((o) => o.label),
    );
  }

  inject(kind: ChoiceKind, site: string): boolean {
    const key = `${kind}:${site}`;
    const n = (this.injectSites.get(key) ?? 0) + 1;
    this.injectSites.set(key, n);
    const d = this.schedule.decisions[this.next];
    if (d?.kind === kind && d.label === injectLabel(site, n)) {
      this.next++;
      return true;
    }
    return false;
  }

  /** Decisions not consumed by the run (non-zero means the replay ended early). */
  get remaining(): number {
    return this.schedule.decisions.length - this.next;
  }
}
