/**
 * Shrinking a failing schedule to a 1-minimal one. A schedule is fully
 * described by its deviations from the default order (see
 * choice-adapter.ts): which decision, and the option taken there. The
 * shrinker replays subsets of them, naming each decision so that the name
 * survives changes earlier in the run (`decisionName`: "when thread T
 * passed its n-th scheduling point", "the n-th injection at site S"); a
 * deviation whose decision does not come up, or whose option is not
 * offered, falls back to the default. A subset is kept when the bug (same
 * deduplication key) still shows, and the deviations the kept run actually
 * took replace it.
 *
 * First delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
 * Failure-Inducing Input", TSE 2002) over the list of deviations, then
 * single removals until none keeps the bug: the result is 1-minimal (taking
 * away any one remaining deviation - a preemption, a forced switch, an
 * injected fault - makes the bug disappear), and the final check of that
 * is part of the result (`oneMinimal`).
 */
import { bugKey } from './bug-key.ts';
import { ExploreChooser } from './choice-adapter.ts';
import type { ChooserConfig, Deviation } from './choice-adapter.ts';
import type { Shrunk, Sizes } from './result.ts';
import type { ExploreSession, ScheduleOutcome } from './session.ts';
import { findingsOf, plainSplat, sizesOf } from './task.ts';
import { decisionName } from './strategy.ts';
import type { Choice, Strategy } from './strategy.ts';

/** Most schedules one shrink may run. */
const MAX_RUNS = 2000;

/** Replays a set of deviations by decision name (`decisionName`); default order everywhere else. */
export class DeviationStrategy implements Strategy {
  readonly name = 'deviations';
  private readonly plan: ReadonlyMap<string, string>;

  constructor(deviations: readonly Pick<Deviation, 'name' | 'label'>[]) {
    this.plan = new Map(deviations.map((d) => [d.name, d.label]));
  }

  beginExecution(): boolean {
    return true;
  }

  choose(c: Choice): number {
    if (this.plan.size === 0) return 0;
    const label = this.plan.get(decisionName(c));
    if (label === undefined) return 0;
    for (let p = 1; p < c.count; p++) if (c.labelAt(p) === label) return p;
    return 0;
  }

  endExecution(): void {
    // Stateless.
  }
}

/** What to shrink: a bug's first occurrence. */
export interface ShrinkInput {
  readonly key: string;
  readonly seed: number;
  readonly deviations: readonly Deviation[];
  readonly sizes: Sizes;
  /** The failing run's schedule and splat (the result when there is nothing to remove). */
  readonly schedule: Shrunk['schedule'];
  readonly splat: Shrunk['splat'];
}

/**
 * Shrink a failing schedule. `config` is the exploration's chooser
 * configuration (its preemption bound is lifted: removing deviations never
 * needs more). Returns null when the schedule does not show the bug when
 * replayed (a scenario that is not deterministic).
 */
export async function shrinkSchedule(session: ExploreSession, config: ChooserConfig, input: ShrinkInput): Promise<Shrunk | null> {
  // The default order already shows it: nothing to remove, nothing to run.
  if (input.deviations.length === 0) {
    return { before: input.sizes, after: input.sizes, runs: 0, oneMinimal: true, schedule: input.schedule, deviations: [], splat: input.splat };
  }
  const cfg: ChooserConfig = { ...config, maxPreemptions: Number.POSITIVE_INFINITY };
  let runs = 0;
  const attempt = async (devs: readonly Deviation[]): Promise<ScheduleOutcome | null> => {
    runs++;
    const o = await session.runWith(new ExploreChooser(new DeviationStrategy(devs), cfg), input.seed);
    return findingsOf(o.result).some((s) => bugKey(s) === input.key) ? o : null;
  };
  let best = await attempt(input.deviations);
  if (!best) return null;
  let current = best.tally.deviations;

  // Delta debugging: drop chunks (complements first at granularity 2).
  let n = 2;
  while (current.length >= 2 && runs < MAX_RUNS) {
    const size = Math.ceil(current.length / n);
    let reduced = false;
    // Chunks from the end first (see the single removals below).
    for (let end = current.length; end > 0 && runs < MAX_RUNS; end -= size) {
      const i = Math.max(0, end - size);
      const candidate = [...current.slice(0, i), ...current.slice(end)];
      const o = await attempt(candidate);
      if (o) {
        best = o;
        current = o.tally.deviations;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(n * 2, current.length);
    }
  }
  // Single removals until none keeps the bug.
  let oneMinimal: boolean;
  for (;;) {
    let reduced = false;
    let checked = 0;
    // Last first: removing a late deviation leaves the run unchanged up to it.
    for (let i = current.length - 1; i >= 0 && runs < MAX_RUNS; i--) {
      const o = await attempt([...current.slice(0, i), ...current.slice(i + 1)]);
      if (o) {
        best = o;
        current = o.tally.deviations;
        reduced = true;
        break;
      }
      checked++;
    }
    if (reduced && runs < MAX_RUNS) continue;
    oneMinimal = !reduced && checked === current.length;
    break;
  }
  const final = best;
  const decisions = final.result.schedule.decisions;
  const splat = findingsOf(final.result).find((s) => bugKey(s) === input.key)!;
  return {
    before: input.sizes,
    after: sizesOf(final.tally, decisions.length),
    runs,
    oneMinimal,
    schedule: { seed: input.seed, decisions: decisions.map((d) => ({ kind: d.kind, label: d.label })) },
    deviations: current.map((d) => ({ index: d.index, name: d.name, kind: d.kind, label: d.label, cost: d.cost })),
    splat: plainSplat(splat),
  };
}
