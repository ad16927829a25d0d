/**
 * Exploring scenarios: the strategies, shrinking, deduplication, workers and
 * shards, and the result files. Re-exports the scenario layer (the Scenario
 * shape, loading, one run with its verdict: `dmabuf-lab/scenario`), so
 * everything about scenarios is importable from here too.
 */
export * from '../scenario/index.ts';
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
