/**
 * One run of a scenario: build the kernel with its checkers, call `setup`,
 * run, and judge the result against the scenario's expectation.
 */
import type {
  Chooser,
  Kernel,
  KernelEvent,
  KernelLimits,
  RunResult,
  Splat,
} from '../kernel/index.ts';
import { createScenarioKernel } from './checkers.ts';
import { ScenarioError } from './load.ts';
import type { Expectation, Scenario, ScenarioContext } from './scenario.ts';

/** Options of one scenario run. */
export interface RunScenarioOptions {
  /** Seed of the run (default 1); also given to `setup` as `ctx.seed`. */
  seed?: number;
  /** Decision source (a strategy or a `ReplayChooser`); default: a PRNG seeded with `seed`. */
  chooser?: Chooser;
  /** Collect the event stream into `ScenarioRun.events`. */
  trace?: boolean;
  /** Capture TypeScript source locations of lock acquisitions. */
  captureStacks?: boolean;
  /** A lockdep dependency graph to keep across runs (from the checker layer). */
  graph?: unknown;
  /**
   * The happens-before race detector and KASAN (`kcsan.*`, `kasan.*`):
   * default on, unless the scenario sets `races: false`; `false` switches
   * them off for this run (`--no-races`).
   */
  races?: boolean;
  /** Lockdep: default on, unless the scenario sets `lockdep: false`; `false` switches it off for this run (`--no-lockdep`). */
  lockdep?: boolean;
  /** Limits overriding the scenario's own and the kernel defaults. */
  limits?: Partial<KernelLimits>;
  /** Called for every event as it happens (attaches a listener: events cost their construction). */
  onEvent?: (event: KernelEvent, k: Kernel) => void;
  /** Called with the kernel before `setup`. */
  onKernel?: (k: Kernel) => void;
  /** Called after `setup` returned, just before the run starts. */
  beforeRun?: (k: Kernel) => void;
}

/**
 * How a run compares with its expectation. `actual` is what the run showed:
 * `clean` (no splat above severity `info`), `splat`, `limit` (a step or
 * virtual-time limit stopped it: never clean) or `error` (the run failed: the
 * scenario threw, awaited something foreign, or a replay diverged).
 */
export interface Verdict {
  readonly actual: 'clean' | 'splat' | 'limit' | 'error';
  /** Distinct rule ids of every splat, in order of first appearance. */
  readonly rules: readonly string[];
  readonly matches: boolean;
  /** One line: why the run matches or not. */
  readonly reason: string;
}

/** Everything one run produced. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly result: RunResult;
  /** Lines the scenario added with `ctx.note`. */
  readonly notes: readonly string[];
  /** The event stream, when `trace` was asked for. */
  readonly events: readonly KernelEvent[] | null;
  readonly verdict: Verdict;
}

/**
 * Run `scenario` once: create the kernel (scenario kernel options, then the
 * seed, chooser, limits and stack capture given here; lockdep unless the
 * scenario sets `lockdep: false`), call `setup`, run.
 *
 * Never rejects for what happens inside the simulation (that is in
 * `result.failure` and the splats). Rejects with a `ScenarioError` when
 * `setup` throws.
 */
export async function runScenario(
  scenario: Scenario,
  opts: RunScenarioOptions = {},
): Promise<ScenarioRun> {
  const seed = opts.seed ?? 1;
  const k = createScenarioKernel(
    {
      ...scenario.kernel,
      seed,
      limits: { ...scenario.kernel?.limits, ...opts.limits },
      ...(opts.chooser ? { chooser: opts.chooser } : {}),
      ...(opts.captureStacks !== undefined ? { captureStacks: opts.captureStacks } : {}),
    },
    {
      lockdep: opts.lockdep ?? scenario.lockdep ?? true,
      graph: opts.graph,
      races: opts.races ?? scenario.races ?? true,
    },
  );
  const events: KernelEvent[] | null = opts.trace ? [] : null;
  if (events) {
    k.events.on((e) => {
      events.push(e);
    });
  }
  const onEvent = opts.onEvent;
  if (onEvent) {
    k.events.on((e) => {
      onEvent(e, k);
    });
  }
  opts.onKernel?.(k);

  const notes: string[] = [];
  try {
    // setup is typed to return nothing; a file written in JavaScript may still return a promise.
    const ctx: ScenarioContext = {
      seed,
      note: (line) => {
        notes.push(line);
      },
    };
    const r = k.runSetup(() => (scenario as { setup(k: Kernel, ctx: ScenarioContext): unknown }).setup(k, ctx));
    if (r instanceof Promise) await r;
  } catch (e) {
    throw ScenarioError.fromSetup(scenario.name, e);
  }
  opts.beforeRun?.(k);
  const result = await k.run();
  return { scenario, seed, result, notes, events, verdict: verdictOf(result, scenario.expect) };
}

/** Distinct rule ids in order of first appearance. */
export function rulesOf(splats: readonly Splat[]): string[] {
  return [...new Set(splats.map((s) => s.rule))];
}

/**
 * Judge one run against an expectation. A clean expectation needs a run that
 * completed (or deadlocked without a splat, which cannot happen) with no
 * splat above severity `info`; a splat expectation needs every listed rule
 * (others may appear too). A run stopped by a limit is never clean; a failed
 * run never matches.
 */
export function verdictOf(
  result: Pick<RunResult, 'end' | 'splats' | 'failure'>,
  expect: Expectation,
): Verdict {
  const rules = rulesOf(result.splats);
  const serious = result.splats.filter((s) => s.severity !== 'info');
  const actual: Verdict['actual'] = result.failure
    ? 'error'
    : result.end === 'step-limit' || result.end === 'time-limit'
      ? 'limit'
      : serious.length > 0
        ? 'splat'
        : 'clean';
  if (actual === 'error') {
    return {
      actual,
      rules,
      matches: false,
      reason: `the run failed: ${result.failure?.message ?? result.end}`,
    };
  }
  if (expect.verdict === 'clean') {
    if (actual === 'clean') return { actual, rules, matches: true, reason: 'clean as expected' };
    if (actual === 'limit')
      return {
        actual,
        rules,
        matches: false,
        reason: `expected clean, but the run stopped at its ${result.end}`,
      };
    return {
      actual,
      rules,
      matches: false,
      reason: `expected clean, got ${rulesOf(serious).join(', ')}`,
    };
  }
  const missing = expect.rules.filter((r) => !rules.includes(r));
  if (missing.length === 0)
    return {
      actual,
      rules,
      matches: true,
      reason: `reported ${expect.rules.join(', ')} as expected`,
    };
  return {
    actual,
    rules,
    matches: false,
    reason: `expected ${missing.join(', ')}, got ${rules.length ? rules.join(', ') : 'nothing'}`,
  };
}

/**
 * Combine the verdicts of several seeds of one scenario: with `seeds: 'some'`
 * one matching seed is enough, otherwise every seed must match. A failed run
 * (`error`) never counts as a match and makes the whole verdict fail.
 */
export function combineVerdicts(verdicts: readonly Verdict[], expect: Expectation): boolean {
  if (verdicts.length === 0) return false;
  if (verdicts.some((v) => v.actual === 'error')) return false;
  if (expect.verdict === 'splat' && expect.seeds === 'some') return verdicts.some((v) => v.matches);
  return verdicts.every((v) => v.matches);
}

/** The expectation in words: `clean`, `splat sched.deadlock (some seeds)`. */
export function describeExpectation(expect: Expectation): string {
  if (expect.verdict === 'clean') return 'clean';
  const seeds = expect.seeds === 'some' ? ' (some seeds)' : '';
  return `splat ${expect.rules.join(', ')}${seeds}`;
}
