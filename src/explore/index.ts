/**
 * Running and exploring scenarios: the Scenario shape, loading (built-in
 * names and users' files), one run with its verdict, and the kernel with its checkers.
 */
export * from './scenario.ts';
export * from './load.ts';
export * from './checkers.ts';
export * from './runner.ts';
export * from './determinism.ts';
export * from './module-loading.ts';
