/**
 * Running one task of an exploration (a chunk of schedule indices, or a
 * subtree of the bounded search) in one thread, and recording what it found
 * in the task-result form that workers return, shards write and the fold
 * combines: bugs with the schedules that showed them, distinct schedule
 * hashes, and the lockdep dependencies first seen, each with the index of
 * its schedule within the task.
 */
import { hostTurn } from '../kernel/index.ts';
import type { RunResult, Splat } from '../kernel/index.ts';
import { bugKey } from './bug-key.ts';
import { ExploreChooser } from './choice-adapter.ts';
import type { ScheduleTally } from './choice-adapter.ts';
import { DfsStrategy } from './dfs.ts';
import { ScenarioError } from '../scenario/index.ts';
import { chooserConfig, strategyFor } from './plan.ts';
import type { ExplorePlan, Probe, TaskSpec } from './plan.ts';
import type { Occurrence, Sizes, TaskBug, TaskResult } from './result.ts';
import { edgeId } from './session.ts';
import type { EdgeRecord, ExploreSession } from './session.ts';
import { Cost, scheduleSeed } from './strategy.ts';

/**
 * When to give the host a turn (progress output, stop requests): after this
 * many schedules, or this many scheduling steps, whichever comes first. A
 * turn costs a message round trip; short schedules share one.
 */
const TURN_SCHEDULES = 256;
const TURN_STEPS = 20_000;

/**
 * Paces the host turns of one thread's tasks: counts schedules and steps
 * across tasks (a sampling task is 64 schedules), reports progress and
 * yields to the event loop when either count is reached.
 */
export class HostPacer {
  private schedules = 0;
  private steps = 0;
  private unreported = 0;

  constructor(private readonly progress?: (schedules: number) => void) {}

  /** One schedule of `steps` steps ran; true when the host got a turn. */
  async after(steps: number): Promise<boolean> {
    this.steps += steps;
    this.unreported++;
    if (++this.schedules < TURN_SCHEDULES && this.steps < TURN_STEPS) return false;
    this.schedules = 0;
    this.steps = 0;
    this.flush();
    await hostTurn();
    return true;
  }

  /** Report the schedules not reported yet. */
  flush(): void {
    if (this.unreported > 0) this.progress?.(this.unreported);
    this.unreported = 0;
  }
}

/** Callbacks of a running task. */
export interface TaskHooks {
  /** Asked every few schedules: true stops the task (a time budget ran out). */
  shouldStop?(): boolean;
  /** Host turns and progress, shared by the tasks a thread runs (default: one for this task). */
  pacer?: HostPacer;
  /** Called with the counters of every schedule run. */
  tally?(t: ScheduleTally): void;
}

/** The splats of a run that are findings, and the run failures that count as bugs. */
export function findingsOf(r: RunResult): Splat[] {
  const out = r.splats.filter((s) => bugKey(s) !== null);
  const f = r.failure;
  if (f && f.kind === 'thread-exception') {
    out.push({
      rule: 'run.thread_exception',
      severity: 'bug',
      headline: `BUG: ${f.message}`,
      body: f.error instanceof Error && f.error.stack ? f.error.stack : f.message,
      thread: f.thread,
      timeNs: r.timeNs,
      step: r.steps,
    });
  }
  return out;
}

/** Throws the `ScenarioError` a failed run stands for, unless it is a finding or the explorer's own doing. */
export function checkRunFailure(r: RunResult, scenario: string): void {
  const f = r.failure;
  if (!f || f.kind === 'abandoned' || f.kind === 'thread-exception') return;
  throw new ScenarioError(
    'invalid',
    `Exploring "${scenario}" stopped: a run failed (${f.kind}): ${f.message}. ` +
      (f.kind === 'foreign-await'
        ? 'Simulated threads may await only kernel operations; the schedule could not be reproduced.'
        : 'Fix the scenario (run it with `dmabuf-lab run` to see the failure on one schedule).'),
  );
}

/** A splat as plain JSON (data objects may hold functions or cycles). */
export function plainSplat(s: Splat): Splat {
  const out: Splat = {
    rule: s.rule,
    severity: s.severity,
    headline: s.headline,
    body: s.body,
    thread: s.thread,
    timeNs: s.timeNs,
    step: s.step,
  };
  if (s.data) {
    try {
      return { ...out, data: JSON.parse(JSON.stringify(s.data)) as Record<string, unknown> };
    } catch {
      return { ...out, data: { note: 'splat data could not be serialized' } };
    }
  }
  return out;
}

/** How far a schedule strays from the default order. */
export function sizesOf(t: ScheduleTally, decisions: number): Sizes {
  let preemptions = 0;
  let faults = 0;
  for (const d of t.deviations) {
    if (d.cost === Cost.PREEMPTION) preemptions++;
    else if (d.cost === Cost.FAULT) faults++;
  }
  return { deviations: t.deviations.length, preemptions, faults, decisions };
}

/** The kernel seed of schedule `index` under a plan. */
export function seedOf(plan: ExplorePlan, index: number): number {
  return plan.settings.strategy === 'dfs' ? plan.settings.seed : scheduleSeed(plan.settings.seed, index);
}

/** Run task `spec` of `plan` on `session`. */
export async function runTask(session: ExploreSession, plan: ExplorePlan, spec: TaskSpec, hooks: TaskHooks = {}): Promise<TaskResult> {
  const s = plan.settings;
  const strategy = strategyFor(plan, spec);
  const chooser = new ExploreChooser(strategy, chooserConfig(s));
  const observer = strategy instanceof DfsStrategy ? strategy.observer : null;
  const budget = spec.kind === 'range' ? spec.to - spec.from : s.schedules;
  const bugs = new Map<string, TaskBug>();
  const hashes = new Map<number, number>();
  const edges = new Map<string, [EdgeRecord, number]>();
  const redundant: [number, number][] = [];
  const maxima: [number, number, number][] = [];
  let maxThreads = 0;
  let maxSteps = 0;
  let k = 0;
  const pacer = hooks.pacer ?? new HostPacer();
  let stoppedBy: TaskResult['stoppedBy'] = 'done';
  for (;;) {
    if (k >= budget) {
      stoppedBy = spec.kind === 'range' ? 'done' : 'budget';
      break;
    }
    const index = spec.kind === 'range' ? spec.from + k : k;
    if (!strategy.beginExecution(index)) break;
    const seed = seedOf(plan, index);
    const o = await session.runWith(chooser, seed, observer);
    checkRunFailure(o.result, session.scenario.name);
    hooks.tally?.(o.tally);
    let stop = false;
    if (await pacer.after(o.tally.steps)) stop = hooks.shouldStop?.() ?? false;
    if (o.tally.redundant) {
      const last = redundant[redundant.length - 1];
      if (last && last[0] === k) last[1]++;
      else redundant.push([k, 1]);
      if (stop) {
        stoppedBy = 'stopped';
        break;
      }
      continue;
    }
    if (!hashes.has(o.tally.hash)) hashes.set(o.tally.hash, k);
    for (const e of o.edges) {
      const id = `${edgeId(e)}:${e.dep}`;
      if (!edges.has(id)) edges.set(id, [e, k]);
    }
    if (o.tally.threads > maxThreads || o.tally.steps > maxSteps) {
      maxThreads = Math.max(maxThreads, o.tally.threads);
      maxSteps = Math.max(maxSteps, o.tally.steps);
      maxima.push([k, maxThreads, maxSteps]);
    }
    let found = false;
    for (const splat of findingsOf(o.result)) {
      const key = bugKey(splat) ?? splat.rule;
      found = true;
      const b = bugs.get(key);
      if (b) {
        const last = b.ranges[b.ranges.length - 1]!;
        if (last[0] + last[1] === k) last[1]++;
        else if (last[0] + last[1] < k) b.ranges.push([k, 1]);
        continue;
      }
      const decisions = o.result.schedule.decisions;
      const first: Occurrence = {
        k,
        splat: plainSplat(splat),
        schedule: { seed, decisions: decisions.map((d) => ({ kind: d.kind, label: d.label })) },
        deviations: o.tally.deviations.map((d) => ({ index: d.index, name: d.name, kind: d.kind, label: d.label, cost: d.cost })),
        sizes: sizesOf(o.tally, decisions.length),
        shrunk: null,
      };
      bugs.set(key, { key, rule: splat.rule, ranges: [[k, 1]], first });
    }
    k++;
    if (found && s.until === 'first') {
      stoppedBy = 'bug';
      break;
    }
    if (stop) {
      stoppedBy = 'stopped';
      break;
    }
  }
  return {
    task: spec.index,
    schedules: k,
    redundant,
    stoppedBy,
    bugs: [...bugs.values()],
    hashes: [...hashes],
    edges: [...edges.values()],
    maxima,
  };
}

/**
 * Run task 0 of a sampling exploration (schedule 0, the default order) and
 * learn from it what PCT and the fault plans need: threads, steps and
 * injection points. Returns the plan and the task's result.
 */
export async function probeScenario(session: ExploreSession, settings: ExplorePlan['settings']): Promise<{ plan: ExplorePlan; first: TaskResult }> {
  let probe: Probe = { threads: 0, steps: 0, injectPoints: 0 };
  const first = await runTask(session, { settings, probe }, { index: 0, kind: 'range', from: 0, to: 1 }, {
    tally: (t) => {
      probe = { threads: t.threads, steps: t.steps, injectPoints: t.injectPoints };
    },
  });
  return { plan: { settings, probe }, first };
}
