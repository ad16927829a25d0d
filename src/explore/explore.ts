/**
 * `explore(scenario, options)`: search a scenario's schedules (and, with
 * `faults`, its injected faults) with one strategy until a budget ends,
 * deduplicate the bugs found, shrink each to a 1-minimal schedule, and
 * return the result object (`ExploreResult`, the JSON `dmabuf-lab explore
 * --json` prints). `exploreShard` runs one deterministic part of the same
 * exploration and returns a shard file; `mergeShards` folds shard files
 * into the result an unsharded run gives.
 *
 * The work is cut into tasks (chunks of 64 schedule indices for the
 * sampling strategies, subtrees for the bounded search when it is split);
 * tasks run in this thread or on a pool of worker threads, and their
 * results are folded in task order (fold.ts), so the result does not depend
 * on how the tasks were spread.
 */
import { limitProblems } from '../kernel/index.ts';
import type { KernelLimits } from '../kernel/index.ts';
import { chooserConfig, CHUNK, DFS_TASKS, dropTasks, everyNth, rangeTasks, taskArray } from './plan.ts';
import type { ExplorePlan, TaskList } from './plan.ts';
import { DfsStrategy } from './dfs.ts';
import type { DfsTask } from './dfs.ts';
import { ExploreChooser } from './choice-adapter.ts';
import { AccumulatedGraph } from './cross-schedule.ts';
import { foldTasks } from './fold.ts';
import { RESULT_VERSION, resultSchemas } from './result.ts';
import type { Bug, ExploreResult, ExploreSettings, Occurrence, ShardFile, TaskResult } from './result.ts';
import { bugKey } from './bug-key.ts';
import { ExploreSession } from './session.ts';
import type { ScheduleWatch } from './session.ts';
import { shrinkSchedule } from './shrink.ts';
import { FAULT_KINDS } from './strategy.ts';
import type { FaultKind } from './strategy.ts';
import { HostPacer, probeScenario, runTask } from './task.ts';
import type { Scenario } from '../scenario/index.ts';

/** Options of an exploration. Defaults: pct, 1000 schedules, until first, seed 1, depth 3, dfs bound 2 with sleep sets, no faults, 1 fault at most. */
export interface ExploreOptions {
  readonly strategy?: 'random' | 'pct' | 'dfs';
  /** Schedule budget (dfs: at most this many, fewer when the bounded space is exhausted). */
  readonly schedules?: number;
  /** Stop at the first bug, or collect every distinct one within the budget. */
  readonly until?: 'first' | 'all';
  readonly seed?: number;
  /** PCT bug depth d. */
  readonly depth?: number;
  /** dfs preemption bound; null for none. */
  readonly preemptions?: number | null;
  /** dfs partial-order reduction: sleep sets, or none. */
  readonly reduction?: 'sleep' | 'none';
  /** Choice kinds explored besides thread order. */
  readonly faults?: readonly FaultKind[];
  /** Injected faults per schedule. */
  readonly maxFaults?: number;
  /** Run limits of every schedule (over the scenario's own). */
  readonly limits?: Partial<KernelLimits>;
  /** Worker threads (default 1: this thread). */
  readonly workers?: number;
  /**
   * What loads the scenario again (a built-in name or a file path), for the
   * result and for worker threads; default the scenario's name (a built-in).
   */
  readonly ref?: string;
  /** Stops the exploration (a wall-clock budget): the result covers the schedules run so far. */
  readonly signal?: AbortSignal;
  /** Live counters for a progress display. */
  readonly counters?: ExploreCounters;
  /** Called with each distinct bug (shrunk) as soon as it is known. */
  readonly onBug?: (bug: Bug) => void;
  /** Extra modules worker threads import first (`workerStart`'s `preload`: e.g. `scenarioHookPreload()`). */
  readonly workerPreload?: readonly string[];
  /** false: run every schedule without the race detector and KASAN (`--no-races`). */
  readonly races?: boolean;
  /** false: run every schedule without lockdep (`--no-lockdep`). */
  readonly lockdep?: boolean;
  /**
   * Told of each schedule this thread runs, its threads and switches (a
   * watchdog naming the thread of a stuck schedule). Not passed to pool
   * workers.
   */
  readonly watch?: ScheduleWatch;
}

/** Counters a progress display reads while an exploration runs (worker threads add to `schedules` too). */
export class ExploreCounters {
  /** @internal [schedules run] in shared memory. */
  readonly cells: Int32Array;
  /**
   * `cells`: the shared counter of another thread's counters (an
   * exploration run in a worker thread whose progress the caller shows).
   */
  constructor(cells?: Int32Array) {
    this.cells = cells ?? new Int32Array(new SharedArrayBuffer(4));
  }
  /** Distinct bugs reported so far. */
  bugs = 0;
  /** Distinct schedules among the tasks finished so far. */
  distinct = 0;
  /** Tasks finished / in all. */
  tasksDone = 0;
  tasks = 0;

  /** Schedules run so far (including redundant ones). */
  get schedules(): number {
    return Atomics.load(this.cells, 0);
  }
}

/** The settings an exploration resolves its options to; throws an Error saying how to fix a bad option. */
export function resolveSettings(o: ExploreOptions): ExploreSettings {
  const strategy = o.strategy ?? 'pct';
  if (!['random', 'pct', 'dfs'].includes(strategy)) throw new Error(`explore: unknown strategy "${strategy}"; use random, pct or dfs`);
  const whole = (name: string, v: number, min: number): number => {
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`explore: ${name} must be a whole number >= ${min}, got ${v}`);
    return v;
  };
  const faults = [...new Set(o.faults ?? [])];
  for (const f of faults) {
    if (!FAULT_KINDS.includes(f)) throw new Error(`explore: unknown fault kind "${f}"; the kinds are ${FAULT_KINDS.join(', ')}`);
  }
  faults.sort((a, b) => FAULT_KINDS.indexOf(a) - FAULT_KINDS.indexOf(b));
  const until = o.until ?? 'first';
  if (until !== 'first' && until !== 'all') throw new Error(`explore: until must be "first" or "all", got "${until as string}"`);
  const reduction = o.reduction ?? 'sleep';
  if (reduction !== 'sleep' && reduction !== 'none') throw new Error(`explore: reduction must be "sleep" or "none", got "${reduction as string}"`);
  const limits: ExploreSettings['limits'] = {};
  if (o.limits?.maxSteps !== undefined) limits.maxSteps = whole('maxSteps', o.limits.maxSteps, 1);
  if (o.limits?.maxVirtualTimeNs !== undefined) limits.maxVirtualTimeNs = o.limits.maxVirtualTimeNs;
  const badLimits = limitProblems(o.limits, 'limits.');
  if (badLimits.length > 0) throw new Error(`explore: ${badLimits.join('; ')}`);
  return {
    strategy,
    seed: whole('seed', o.seed ?? 1, 0),
    schedules: whole('schedules', o.schedules ?? 1000, 1),
    until,
    depth: whole('depth', o.depth ?? 3, 1),
    preemptions: o.preemptions === null ? null : whole('preemptions', o.preemptions ?? 2, 0),
    reduction,
    faults,
    maxFaults: whole('maxFaults', o.maxFaults ?? 1, 0),
    limits,
    ...(o.races === false ? { races: false as const } : {}),
    ...(o.lockdep === false ? { lockdep: false as const } : {}),
  };
}

/** Explore `scenario`; resolves to the result (rejects with a ScenarioError when setup throws). */
export async function explore(scenario: Scenario, options: ExploreOptions = {}): Promise<ExploreResult> {
  const settings = resolveSettings(options);
  const ref = options.ref ?? scenario.name;
  const session = new ExploreSession(scenario, { seed: settings.seed, limits: settings.limits, chooser: chooserConfig(settings), watch: options.watch ?? null });
  const workers = Math.max(1, options.workers ?? 1);
  const { plan, specs, first } = await planTasks(session, settings, workers > 1);
  const results = await runTasks(session, plan, specs, first, ref, options, workers);
  const folded = foldTasks({ name: scenario.name, ref }, settings, specs.length, results);
  if (folded.firsts.length === 0) return folded.result;
  // Bugs are shrunk as tasks are processed; any left (a cut moved a first occurrence) now.
  await shrinkFirsts(session, settings, folded.firsts.map((f) => f.occurrence));
  return foldTasks({ name: scenario.name, ref }, settings, specs.length, results).result;
}

/** Run part `shard.index` of `shard.count` of an exploration; the shard file `mergeShards` takes. */
export async function exploreShard(
  scenario: Scenario,
  shard: { readonly index: number; readonly count: number },
  options: ExploreOptions = {},
): Promise<ShardFile> {
  if (!Number.isSafeInteger(shard.count) || shard.count < 1 || !Number.isSafeInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new Error(`explore: shard must be i/n with 0 <= i < n, got ${shard.index}/${shard.count}`);
  }
  const settings = resolveSettings(options);
  const ref = options.ref ?? scenario.name;
  const session = new ExploreSession(scenario, { seed: settings.seed, limits: settings.limits, chooser: chooserConfig(settings), watch: options.watch ?? null });
  const { plan, specs, first } = await planTasks(session, settings, true);
  const mine = everyNth(specs, shard.index, shard.count);
  const results = await runTasks(session, plan, mine, first, ref, options, Math.max(1, options.workers ?? 1));
  return {
    format: 'dmabuf-lab-explore-shard',
    version: RESULT_VERSION,
    scenario: { name: scenario.name, ref },
    settings,
    shard: { index: shard.index, count: shard.count },
    taskCount: specs.length,
    tasks: results.sort((a, b) => a.task - b.task),
  };
}

/**
 * Fold shard files (parsed JSON) into the result of the whole exploration.
 * Throws an Error naming the problem when a file is not a shard file, the
 * shards disagree on the exploration, or one is missing.
 */
export function mergeShards(files: readonly { readonly name: string; readonly data: unknown }[]): ExploreResult {
  if (files.length === 0) throw new Error('merge: give the shard files written by `explore --shard i/n`');
  const shards: ShardFile[] = files.map((f) => {
    const r = resultSchemas().ShardFileSchema.safeParse(f.data);
    if (!r.success) {
      const wrongVersion = (f.data as { version?: unknown } | null)?.version;
      throw new Error(
        typeof wrongVersion === 'number' && wrongVersion !== RESULT_VERSION
          ? `merge: ${f.name} is a version ${wrongVersion} shard file; this dmabuf-lab reads version ${RESULT_VERSION}. Run the shards again with this version.`
          : `merge: ${f.name} is not a shard file written by \`explore --shard i/n\`: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
      );
    }
    return r.data;
  });
  const first = shards[0]!;
  const same = JSON.stringify([first.scenario, first.settings, first.shard.count, first.taskCount]);
  for (const [i, s] of shards.entries()) {
    if (JSON.stringify([s.scenario, s.settings, s.shard.count, s.taskCount]) !== same) {
      throw new Error(`merge: ${files[i]!.name} comes from a different exploration than ${files[0]!.name} (scenario, options or shard count differ); merge the shards of one exploration.`);
    }
  }
  const seen = new Map<number, string>();
  for (const [i, s] of shards.entries()) {
    const other = seen.get(s.shard.index);
    if (other !== undefined) throw new Error(`merge: ${files[i]!.name} and ${other} are both shard ${s.shard.index}/${s.shard.count}`);
    seen.set(s.shard.index, files[i]!.name);
  }
  const missing = Array.from({ length: first.shard.count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new Error(`merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${first.shard.count}`).join(', ')} missing; give every shard's file.`);
  }
  const tasks = shards.flatMap((s) => s.tasks);
  return resultSchemas().ExploreResultSchema.parse(foldTasks(first.scenario, first.settings, first.taskCount, tasks).result);
}

// ------------------------------------------------------------------ internals

/** Probe the scenario and cut the exploration into tasks. */
async function planTasks(
  session: ExploreSession,
  settings: ExploreSettings,
  split: boolean,
): Promise<{ plan: ExplorePlan; specs: TaskList; first?: TaskResult }> {
  if (settings.strategy !== 'dfs') {
    const { plan, first } = await probeScenario(session, settings);
    return { plan, specs: rangeTasks(settings.schedules), first };
  }
  const plan: ExplorePlan = { settings, probe: { threads: 0, steps: 0, injectPoints: 0 } };
  if (!split) return { plan, specs: taskArray([{ index: 0, kind: 'dfs', subtree: null }]) };
  const subtrees = await dfsSubtrees(session, settings);
  return { plan, specs: taskArray(subtrees.map((subtree, index) => ({ index, kind: 'dfs', subtree }))) };
}

/**
 * The subtrees of the bounded search at the smallest depth that gives at
 * least `DFS_TASKS` of them (or the whole tree, when it is smaller), each
 * with the sleep sets the unsplit search has there. The depth depends only
 * on the tree, never on the number of workers or shards.
 */
async function dfsSubtrees(session: ExploreSession, settings: ExploreSettings): Promise<DfsTask[]> {
  let tasks: DfsTask[] = [];
  for (let depth = 1; depth <= 64; depth++) {
    const strategy = new DfsStrategy({ reduction: settings.reduction === 'sleep', maxDepth: depth });
    const chooser = new ExploreChooser(strategy, chooserConfig(settings));
    tasks = [];
    let deeper = false;
    while (strategy.beginExecution()) {
      await session.runWith(chooser, settings.seed, strategy.observer);
      const t = strategy.taskOfLastRun();
      if (t) {
        tasks.push(t);
        if (t.prefix.length >= depth) deeper = true;
      }
    }
    if (tasks.length >= DFS_TASKS || !deeper) return tasks;
  }
  return tasks;
}

/**
 * Run `specs` (in this thread or on workers), processing results in task
 * order: shrink new bugs, report them, stop early. `first`, when given, is
 * the result of task 0, already run (the probe of the sampling strategies).
 */
async function runTasks(
  session: ExploreSession,
  plan: ExplorePlan,
  specs: TaskList,
  first: TaskResult | undefined,
  ref: string,
  options: ExploreOptions,
  workers: number,
): Promise<TaskResult[]> {
  const counters = options.counters;
  if (counters) counters.tasks = specs.length;
  const order = new Coordinator(session, plan, specs, options);
  let rest = specs;
  if (first && specs.length > 0 && specs.at(0).index === first.task) {
    if (counters) Atomics.add(counters.cells, 0, first.schedules);
    await order.accept(first);
    rest = dropTasks(specs, 1);
  }
  if (workers <= 1) {
    const pacer = new HostPacer((n) => {
      if (counters) Atomics.add(counters.cells, 0, n);
    });
    for (let i = 0; i < rest.length; i++) {
      if (order.stopped || options.signal?.aborted) break;
      const spec = rest.at(i);
      const r = await runTask(session, plan, spec, { shouldStop: () => options.signal?.aborted ?? false, pacer });
      pacer.flush();
      await order.accept(r);
    }
    return order.results;
  }
  if (!order.stopped) {
    const { runOnPool } = await import('./pool.ts');
    await runOnPool({ plan, specs: rest, ref, workers, options, accept: (r) => order.accept(r), stopped: () => order.stopped });
  }
  return order.results;
}

/**
 * Takes task results in any order and processes them in task order:
 * shrinks the first occurrence of each new bug (the first in schedule
 * order, since earlier tasks are processed first), reports it, and decides
 * when the exploration can stop (`--until first`, the dfs budget).
 */
class Coordinator {
  readonly results: TaskResult[] = [];
  stopped = false;
  private readonly pending = new Map<number, TaskResult>();
  private next = 0;
  private offset = 0;
  private readonly known = new Set<string>();
  private readonly acc: AccumulatedGraph;
  private readonly hashes = new Set<number>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: ExploreSession,
    private readonly plan: ExplorePlan,
    private readonly specs: TaskList,
    private readonly options: ExploreOptions,
  ) {
    this.acc = new AccumulatedGraph(plan.settings.seed);
  }

  /** Take one task's result; resolves once it (and any it unblocked) is processed. */
  accept(r: TaskResult): Promise<void> {
    this.pending.set(r.task, r);
    this.chain = this.chain.then(() => this.drain());
    return this.chain;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.next >= this.specs.length) return;
      const spec = this.specs.at(this.next);
      const r = this.pending.get(spec.index);
      if (!r) return;
      this.pending.delete(spec.index);
      this.next++;
      await this.process(r);
    }
  }

  private async process(r: TaskResult): Promise<void> {
    if (this.stopped) return;
    this.results.push(r);
    const s = this.plan.settings;
    const c = this.options.counters;
    for (const [h] of r.hashes) this.hashes.add(h);
    if (c) {
      c.distinct = this.hashes.size;
      c.tasksDone++;
    }
    const fresh = r.bugs.filter((b) => !this.known.has(b.key));
    for (const b of fresh) this.known.add(b.key);
    await shrinkFirsts(this.session, s, fresh.map((b) => b.first));
    for (const b of fresh) {
      if (c) c.bugs++;
      this.options.onBug?.({
        key: b.key,
        rule: b.rule,
        headline: b.first.splat.headline,
        firstSchedule: this.offset + b.first.k,
        schedules: b.ranges.reduce((n, [, len]) => n + len, 0),
        splat: b.first.splat,
        schedule: b.first.schedule,
        sizes: b.first.sizes,
        shrunk: b.first.shrunk,
        acrossSchedules: null,
      });
    }
    let crossFound = false;
    for (const [edge, k] of r.edges) {
      const x = this.acc.add(edge, this.offset + k);
      if (x && !this.known.has(x.key)) {
        this.known.add(x.key);
        crossFound = true;
        if (c) c.bugs++;
        this.options.onBug?.({
          key: x.key,
          rule: 'lockdep.circular',
          headline: x.splat.headline,
          firstSchedule: x.position,
          schedules: 1,
          splat: x.splat,
          schedule: { seed: 0, decisions: [] },
          sizes: { deviations: 0, preemptions: 0, faults: 0, decisions: 0 },
          shrunk: null,
          acrossSchedules: [...x.schedules],
        });
      }
    }
    this.offset += r.schedules;
    if (s.until === 'first' && (r.stoppedBy === 'bug' || crossFound)) this.stopped = true;
    if (r.stoppedBy === 'stopped') this.stopped = true;
    if (s.strategy === 'dfs' && this.offset >= s.schedules) this.stopped = true;
    if (s.strategy !== 'dfs' && this.offset >= s.schedules) this.stopped = true;
  }
}

/** Shrink the given first occurrences (those not shrunk yet), in place. */
async function shrinkFirsts(session: ExploreSession, settings: ExploreSettings, occurrences: readonly Occurrence[]): Promise<void> {
  const config = chooserConfig(settings);
  for (const occ of occurrences) {
    if (occ.shrunk !== null) continue;
    const key = bugKey(occ.splat) ?? occ.splat.rule;
    occ.shrunk = await shrinkSchedule(session, config, {
      key,
      seed: occ.schedule.seed,
      deviations: occ.deviations,
      sizes: occ.sizes,
      schedule: occ.schedule,
      splat: occ.splat,
    });
  }
}

/** Schedules per task of the sampling strategies (re-exported for documentation and tests). */
export const SCHEDULES_PER_TASK = CHUNK;
