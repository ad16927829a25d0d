/**
 * Running and exploring scenarios: the Scenario shape, loading (built-in
 * names and users' files), one run with its verdict, the kernel with its
 * checkers, and the explorer (strategies, shrinking, deduplication, workers
 * and shards).
 */
export * from './scenario.ts';
export * from './load.ts';
export * from './checkers.ts';
export * from './runner.ts';
export * from './determinism.ts';
export * from './strategy.ts';
export * from './choice-adapter.ts';
export * from './random.ts';
export * from './pct.ts';
export * from './dfs.ts';
export * from './replay.ts';
export * from './footprint.ts';
export * from './bug-key.ts';
export * from './session.ts';
export * from './plan.ts';
export * from './task.ts';
export * from './fold.ts';
export * from './result.ts';
export * from './shrink.ts';
export * from './explore.ts';
export * from './seeds.ts';
export * from './module-loading.ts';
