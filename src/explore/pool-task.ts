/**
 * The worker-thread side of the explorer's pool: runs one task of an
 * exploration. The scenario is loaded by reference once per worker, and
 * the session (primed lockdep graph, creation-site memo) is kept for the
 * worker's later tasks of the same exploration.
 */
import { loadScenario } from '../scenario/index.ts';
import type { ExplorePlan, TaskSpec } from './plan.ts';
import { chooserConfig } from './plan.ts';
import type { TaskResult } from './result.ts';
import { ExploreSession } from './session.ts';
import { HostPacer, runTask } from './task.ts';

/** One task as the pool sends it. */
export interface PoolTask {
  /** Built-in name or file path of the scenario. */
  readonly scenario: string;
  readonly plan: ExplorePlan;
  readonly spec: TaskSpec;
  /** Set to 1 to stop (a wall-clock budget ran out). */
  readonly stop: Int32Array;
  /** Schedules run, shared with the main thread's progress display. */
  readonly counter: Int32Array;
}

let cached: { key: string; session: ExploreSession } | null = null;

/** Run one task (piscina calls the default export). */
export default async function runPoolTask(t: PoolTask): Promise<TaskResult> {
  const key = JSON.stringify([t.scenario, t.plan.settings]);
  if (cached?.key !== key) {
    const { scenario } = await loadScenario(t.scenario);
    const s = t.plan.settings;
    cached = { key, session: new ExploreSession(scenario, { seed: s.seed, limits: s.limits, chooser: chooserConfig(s) }) };
  }
  const pacer = new HostPacer((n) => {
    Atomics.add(t.counter, 0, n);
  });
  const r = await runTask(cached.session, t.plan, t.spec, { shouldStop: () => Atomics.load(t.stop, 0) !== 0, pacer });
  pacer.flush();
  return r;
}
