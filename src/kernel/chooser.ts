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
  | 'data'; // any other value a scenario asks the chooser for

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
}

/** The default chooser: a seeded PRNG, uniform over options, with fault rates. */
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

/** Raised when a replayed schedule no longer matches the run (the scenario changed too much). */
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
 * injections are replayed from the recorded `inject` decisions.
 */
export class ReplayChooser implements Chooser {
  private next = 0;

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
    }
    throw new ScheduleDivergence(
      this.next,
      d,
      options.map((o) => o.label),
    );
  }

  inject(kind: ChoiceKind, site: string): boolean {
    const d = this.schedule.decisions[this.next];
    if (d?.kind === kind && d.label === `inject:${site}`) {
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
