/**
 * Running and exploring a scenario inside a test, with a budget, in the test's
 * own thread (no worker: a test runner has its own timeout). Results carry
 * the command that replays what they found, for the matchers' messages.
 */
import { relative } from 'node:path';
import type { KernelLimits, Splat } from '../kernel/index.ts';
import { loadScenario, runScenario } from '../scenario/index.ts';
import type { RunScenarioOptions, Scenario, ScenarioRun } from '../scenario/index.ts';
import { replayCall } from './findings.ts';
import type { ExplorationBugLike, ExplorationLike } from './findings.ts';

/** A scenario object, a built-in scenario name (`mutex-abba`) or a file path (`./my.scenario.ts`). */
export type ScenarioInput = Scenario | string;

/** Options of `runInTest`. */
export interface TestRunOptions {
  /** Seed of the run (default 1). */
  seed?: number;
  /** Step and virtual-time limits (default: the scenario's, then the kernel's). */
  limits?: Partial<KernelLimits>;
  /** Keep the event stream in `events`. */
  trace?: boolean;
  /** Capture source locations of lock acquisitions (slower). */
  captureStacks?: boolean;
}

/** One run, with the command that replays it. */
export interface TestRun extends ScenarioRun {
  /** `dmabuf-lab run mutex-abba --seed 2`, or a call for a scenario given as an object. */
  readonly replay: string;
}

interface Resolved {
  readonly scenario: Scenario;
  /** How `dmabuf-lab run` names it, or null for an object. */
  readonly shown: string | null;
}

async function resolveInput(input: ScenarioInput): Promise<Resolved> {
  if (typeof input !== 'string') return { scenario: input, shown: null };
  const loaded = await loadScenario(input);
  if (loaded.builtin) return { scenario: loaded.scenario, shown: loaded.ref };
  const rel = relative(process.cwd(), loaded.ref);
  return { scenario: loaded.scenario, shown: rel.startsWith('.') ? rel : `./${rel}` };
}

function limitFlags(l: Partial<KernelLimits> | undefined): string {
  if (!l) return '';
  return (
    (l.maxSteps !== undefined ? ` --max-steps ${l.maxSteps}` : '') +
    (l.maxVirtualTimeNs !== undefined ? ` --max-time-ms ${l.maxVirtualTimeNs / 1e6}` : '')
  );
}

function replayOf(r: Resolved, seed: number, limits: Partial<KernelLimits> | undefined): string {
  return r.shown === null
    ? replayCall(r.scenario.name, seed)
    : `dmabuf-lab run ${r.shown} --seed ${seed}${limitFlags(limits)}`;
}

function runOptions(seed: number, o: TestRunOptions): RunScenarioOptions {
  return {
    seed,
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.trace ? { trace: true } : {}),
    ...(o.captureStacks !== undefined ? { captureStacks: o.captureStacks } : {}),
  };
}

/**
 * Run a scenario once and return the run with its replay command; use with
 * `expect(run).toBeClean()` or `expect(run).toReport('lockdep.circular')`.
 * Rejects with a `ScenarioError` when the scenario cannot be loaded or its
 * `setup` throws (a broken test, not a finding).

 */
export async function runInTest(input: ScenarioInput, opts: TestRunOptions = {}): Promise<TestRun> {
  const r = await resolveInput(input);
  const seed = opts.seed ?? 1;
  const run = await runScenario(r.scenario, runOptions(seed, opts));
  return { ...run, replay: replayOf(r, seed, opts.limits) };
}

/** Options of `exploreInTest`: which schedules to try and the budget. */
export interface TestExploreOptions extends Omit<TestRunOptions, 'seed' | 'trace'> {
  /** Most schedules to run (default 100). */
  schedules?: number;
  /** Wall-clock budget in ms (default 5000); the exploration stops after the schedule that crosses it. */
  timeMs?: number;
  /** Seed of the first schedule; schedule i uses seed `seed + i` (default 1). */
  seed?: number;
  /** Stop at the first schedule that shows a bug (default), or run the whole budget and collect every distinct bug. */
  until?: 'first' | 'all';
}

/** A distinct bug found by `exploreInTest`. */
export interface TestBug extends ExplorationBugLike {
  /** The first splat with this rule and headline. */
  readonly splat: Splat;
  /** Seed of the first schedule that showed it. */
  readonly seed: number;
  /** How many schedules showed it. */
  readonly count: number;
  readonly replay: string;
}

/** What `exploreInTest` found, in the shape the matchers accept. */
export interface TestExploration extends ExplorationLike {
  readonly scenario: Scenario;
  /** Schedules run. */
  readonly schedules: number;
  /** Why it stopped: the schedule count, the time budget, or a bug found (`until: 'first'`). */
  readonly stoppedBy: 'schedules' | 'time' | 'found';
  readonly bugs: readonly TestBug[];
  /** Failed runs and limits reached, one line each with the replay command. */
  readonly problems: readonly string[];
  readonly subject: string;
}

/**
 * Explore a scenario inside a test: run it on schedules `seed`,
 * `seed + 1`, ... (each a seeded random schedule, the `random` strategy)
 * until a bug is found, the schedule count or the time budget runs out.
 * Bugs are deduplicated by rule id and headline; each keeps the first seed
 * that showed it and its replay command. A failed run or a limit reached is
 * a problem (the result is then not clean).

 */
export async function exploreInTest(
  input: ScenarioInput,
  opts: TestExploreOptions = {},
): Promise<TestExploration> {
  const r = await resolveInput(input);
  const max = opts.schedules ?? 100;
  const budgetMs = opts.timeMs ?? 5000;
  const first = opts.seed ?? 1;
  const bugs = new Map<string, TestBug>();
  const problems: string[] = [];
  const started = performance.now();
  let n = 0;
  let stoppedBy: TestExploration['stoppedBy'] = 'schedules';
  while (n < max) {
    const seed = first + n;
    const run = await runScenario(r.scenario, runOptions(seed, opts));
    n++;
    const replay = replayOf(r, seed, opts.limits);
    const res = run.result;
    if (res.failure)
      problems.push(`seed ${seed}: the run failed: ${res.failure.message} (replay: ${replay})`);
    else if (res.end === 'step-limit' || res.end === 'time-limit')
      problems.push(`seed ${seed}: the run stopped at its ${res.end} (replay: ${replay})`);
    for (const s of res.splats) {
      if (s.severity === 'info') continue;
      const key = `${s.rule}\n${s.headline}`;
      const seen = bugs.get(key);
      bugs.set(
        key,
        seen ? { ...seen, count: seen.count + 1 } : { splat: s, seed, count: 1, replay },
      );
    }
    if ((opts.until ?? 'first') === 'first' && (bugs.size > 0 || problems.length > 0)) {
      stoppedBy = 'found';
      break;
    }
    if (performance.now() - started >= budgetMs) {
      stoppedBy = n < max ? 'time' : 'schedules';
      break;
    }
  }
  return {
    scenario: r.scenario,
    schedules: n,
    stoppedBy,
    bugs: [...bugs.values()],
    problems,
    subject: `${r.scenario.name}: ${n} schedule${n === 1 ? '' : 's'} from seed ${first}`,
  };
}
