/**
 * An exploration's resolved plan: its settings, what a default run showed
 * (the probe: thread, step and injection-point counts that PCT and the
 * fault plans need), and how the work is cut into tasks. Everything a
 * worker or a shard needs to run a task, as plain data.
 */
import { DfsStrategy } from './dfs.ts';
import type { DfsTask } from './dfs.ts';
import { PctStrategy } from './pct.ts';
import { RandomStrategy } from './random.ts';
import type { ExploreSettings } from './result.ts';
import type { ChooserConfig } from './choice-adapter.ts';
import type { FaultKind, Strategy } from './strategy.ts';

/** Schedules per task of the sampling strategies. */
export const CHUNK = 64;

/** Subtrees the bounded search is cut into for workers and shards (at least). */
export const DFS_TASKS = 32;

/** What the default run of a scenario showed. */
export interface Probe {
  readonly threads: number;
  /** Run-queue decisions with a choice (PCT's k). */
  readonly steps: number;
  /** Injection points of the explorable kinds. */
  readonly injectPoints: number;
}

/** One task: a range of schedule indices, or a subtree of the bounded search (null: the whole tree). */
export type TaskSpec =
  | { readonly index: number; readonly kind: 'range'; readonly from: number; readonly to: number }
  | { readonly index: number; readonly kind: 'dfs'; readonly subtree: DfsTask | null };

/**
 * The tasks of an exploration, in order. A list computed on demand: a
 * wall-clock budget alone means a practically unbounded number of range
 * tasks, which must not be materialized.
 */
export interface TaskList {
  readonly length: number;
  at(i: number): TaskSpec;
}

/** A task list over an array. */
export function taskArray(specs: readonly TaskSpec[]): TaskList {
  return { length: specs.length, at: (i) => specs[i]! };
}

/** Every `count`-th task of `list`, from `first` (a shard's share). */
export function everyNth(list: TaskList, first: number, count: number): TaskList {
  return { length: Math.max(0, Math.ceil((list.length - first) / count)), at: (i) => list.at(first + i * count) };
}

/** `list` without its first `n` tasks. */
export function dropTasks(list: TaskList, n: number): TaskList {
  return { length: Math.max(0, list.length - n), at: (i) => list.at(i + n) };
}

/** The plan every task of one exploration shares. */
export interface ExplorePlan {
  readonly settings: ExploreSettings;
  readonly probe: Probe;
}

/** The chooser configuration of a plan's schedules. */
export function chooserConfig(s: ExploreSettings): ChooserConfig {
  return {
    faults: new Set<FaultKind>(s.faults),
    maxFaults: s.maxFaults,
    maxPreemptions: s.strategy === 'dfs' && s.preemptions !== null ? s.preemptions : Number.POSITIVE_INFINITY,
    ...(s.races === false ? { races: false } : {}),
    ...(s.lockdep === false ? { lockdep: false } : {}),
  };
}

/** The strategy that runs `spec`. */
export function strategyFor(plan: ExplorePlan, spec: TaskSpec): Strategy {
  const s = plan.settings;
  switch (s.strategy) {
    case 'random':
      return new RandomStrategy({ seed: s.seed, injectPoints: plan.probe.injectPoints, maxFaults: s.maxFaults });
    case 'pct':
      return new PctStrategy({
        seed: s.seed,
        depth: s.depth,
        steps: plan.probe.steps,
        injectPoints: plan.probe.injectPoints,
        maxFaults: s.maxFaults,
      });
    case 'dfs':
      return new DfsStrategy({
        reduction: s.reduction === 'sleep',
        ...(spec.kind === 'dfs' && spec.subtree ? { task: spec.subtree } : {}),
      });
  }
}

/**
 * The range tasks of a sampling exploration of `schedules` schedules: task
 * 0 is schedule 0 alone (the default order, which every process runs first
 * to learn the counts the strategies need), then chunks of `CHUNK`.
 */
export function rangeTasks(schedules: number): TaskList {
  return {
    length: 1 + Math.ceil((schedules - 1) / CHUNK),
    at(i: number): TaskSpec {
      if (i === 0) return { index: 0, kind: 'range', from: 0, to: 1 };
      const from = 1 + (i - 1) * CHUNK;
      return { index: i, kind: 'range', from, to: Math.min(schedules, from + CHUNK) };
    },
  };
}
