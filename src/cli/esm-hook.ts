/**
 * The resolve hooks for users' scenario files, for the CLI's commands that
 * load scenarios in their own thread (`run --seeds`) or in a worker pool
 * (`explore`): they live with the rest of the module-loading logic in
 * `src/explore/module-loading.ts` (one copy of the library per thread,
 * `.ts` files as ES modules). Imported from there directly, not through the
 * explore index, so that the CLI's main thread does not load the model.
 */
export { registerScenarioHook, scenarioHookPreload } from '../explore/module-loading.ts';
