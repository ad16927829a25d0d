/**
 * The replay strategy: a saved schedule (decisions by name, as `run
 * --save-schedule` and the explorer's `--trace-dir` write it) answered
 * decision by decision by the kernel's `ReplayChooser`. A replay diverges,
 * and says where, when the scenario no longer offers the recorded option.
 * Used by `dmabuf-lab replay` and to check that shrunk schedules replay.
 */
import { ReplayChooser } from '../kernel/index.ts';
import type { KernelLimits, Schedule } from '../kernel/index.ts';
import { runScenario } from '../scenario/index.ts';
import type { ScenarioRun, Scenario } from '../scenario/index.ts';

/** Options of a replay. */
export interface ReplayOptions {
  readonly limits?: Partial<KernelLimits>;
  /** Capture source locations of lock acquisitions (default true: a replay is for reading). */
  readonly captureStacks?: boolean;
  /** Keep the event stream (for traces). */
  readonly trace?: boolean;
}

/** Replay `schedule` on `scenario`; `unused` counts recorded decisions the run did not reach. */
export async function replaySchedule(
  scenario: Scenario,
  schedule: Schedule,
  opts: ReplayOptions = {},
): Promise<ScenarioRun & { readonly unused: number }> {
  const chooser = new ReplayChooser(schedule);
  const run = await runScenario(scenario, {
    seed: schedule.seed,
    chooser,
    captureStacks: opts.captureStacks ?? true,
    trace: opts.trace ?? false,
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  return { ...run, unused: chooser.remaining };
}
