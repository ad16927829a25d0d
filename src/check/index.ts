/**
 * The checker layer: lockdep (classes, dependency graph, IRQ and wait-context
 * checks, the fs_reclaim / dma_fence_map pseudo-locks and the resv priming
 * order), the object-lifetime tracker, reclaim contexts and shrinkers, and
 * the catalogue of every rule id the library reports.
 */
export * from './signalling.ts';
export * from './usage.ts';
export * from './graph.ts';
export * from './bfs.ts';
export * from './lockdep.ts';
export * from './priming.ts';
export * from './lifetime.ts';
export * from './annotations.ts';
export * from './reclaim.ts';
export * from './vclock.ts';
export * from './race-types.ts';
export * from './race-report.ts';
export * from './races.ts';
export * from './checked-kernel.ts';
export * from './rules.ts';
export * from './event-rules.ts';
export * from './recent.ts';
export * from './retiring.ts';
export * from './notation.ts';
