/**
 * Scenarios: the `Scenario` shape and `defineScenario`, loading (built-in
 * names and users' files), one run with its verdict on a kernel with the
 * checkers installed, and how threads load this package's modules
 * (`workerStart`). What a scenario file and one run need, and nothing of the
 * explorer: `dmabuf-lab/scenario` loads the kernel and the checkers only,
 * so a scenario importing `defineScenario` from here starts fast.
 * `dmabuf-lab/explore` re-exports all of it.
 */
export * from './scenario.ts';
export * from './load.ts';
export * from './checkers.ts';
export * from './runner.ts';
export * from './module-loading.ts';
