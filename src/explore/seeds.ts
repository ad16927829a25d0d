/**
 * `run --seeds a..b`: the random strategy in its simplest form. Each seed is
 * run exactly as `run --seed N` runs it (the kernel's seeded chooser, the
 * scenario's fault rates), one after another in one process, with the
 * fixed cost of a run paid once (primed lockdep graph, creation-site memo);
 * the summary says which seeds showed which rules.
 */
import { installLifetimeTracker, Lockdep, LockdepGraph, RaceDetector } from '../check/index.ts';
import { CreationSiteMemo, hostTurn, Kernel, PrngChooser } from '../kernel/index.ts';
import type { KernelLimits } from '../kernel/index.ts';
import { bugKey } from './bug-key.ts';
import { ScenarioError, verdictOf } from '../scenario/index.ts';
import type { Verdict, Scenario, ScenarioContext } from '../scenario/index.ts';
import { findingsOf } from './task.ts';

/** One seed's outcome. */
export interface SeedOutcome {
  readonly seed: number;
  readonly end: string;
  /** Distinct rule ids of its findings, in order of appearance. */
  readonly rules: readonly string[];
  readonly verdict: Verdict;
}

/** What `runSeeds` found. */
export interface SeedsSummary {
  readonly seeds: readonly SeedOutcome[];
  /** Per rule id: the seeds that showed it, ascending. */
  readonly byRule: ReadonlyMap<string, readonly number[]>;
}

/** Run `scenario` once per seed in [from, to]. Rejects with a ScenarioError when setup throws. */
export async function runSeeds(
  scenario: Scenario,
  from: number,
  to: number,
  opts: { readonly limits?: Partial<KernelLimits>; readonly signal?: AbortSignal; readonly onSeed?: (o: SeedOutcome) => void } = {},
): Promise<SeedsSummary> {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
    throw new Error(`runSeeds: expected a range a..b of seeds with 0 <= a <= b, got ${from}..${to}`);
  }
  const lockdep = scenario.lockdep ?? true;
  const graph = lockdep ? new LockdepGraph() : null;
  const ld = graph ? new Lockdep(graph) : null;
  if (ld && graph) {
    ld.attach(new Kernel({ seed: from, validator: ld }));
    graph.checkpoint();
  }
  const memo = new CreationSiteMemo();
  const limits = { ...scenario.kernel?.limits, ...opts.limits };
  const seeds: SeedOutcome[] = [];
  const byRule = new Map<string, number[]>();
  for (let seed = from; seed <= to; seed++) {
    if (opts.signal?.aborted) break;
    const hb = (scenario.races ?? true) ? new RaceDetector() : null;
    const k = new Kernel({
      ...scenario.kernel,
      seed,
      limits,
      chooser: new PrngChooser(seed, scenario.kernel?.faults),
      validator: ld,
      hb,
    });
    hb?.attach(k);
    if (ld) ld.attach(k);
    else installLifetimeTracker(k);
    k.useSiteMemo(memo);
    try {
      const ctx: ScenarioContext = { seed, note: () => undefined };
      const r = k.runSetup(() => (scenario as { setup(k: Kernel, ctx: ScenarioContext): unknown }).setup(k, ctx));
      if (r instanceof Promise) await r;
    } catch (e) {
      graph?.rollback();
      throw ScenarioError.fromSetup(scenario.name, e);
    }
    const result = await k.run();
    graph?.rollback();
    const rules = [...new Set(findingsOf(result).filter((s) => bugKey(s) !== null).map((s) => s.rule))];
    const o: SeedOutcome = { seed, end: result.end, rules, verdict: verdictOf(result, scenario.expect) };
    seeds.push(o);
    for (const r of rules) {
      let list = byRule.get(r);
      if (!list) byRule.set(r, (list = []));
      list.push(seed);
    }
    opts.onSeed?.(o);
    if ((seed - from) % 32 === 31) await hostTurn();
  }
  return { seeds, byRule };
}
