/**
 * `dmabuf-lab/vitest`: check scenarios from a vitest test file.
 *
 * Importing this module adds two matchers to vitest's `expect`:
 * `toBeClean()` and `toReport(ruleId)`, for a run (`runInTest`,
 * `runScenario`) or an exploration (`exploreInTest`, or any result with a
 * `bugs` list). Their failure messages print each splat as the kernel would
 * and the command that replays it.
 *
 * ```ts
 * import { expect, test } from 'vitest';
 * import { exploreInTest, runInTest } from 'dmabuf-lab/vitest';
 *
 * test('ABBA is reported', async () => {
 *   expect(await runInTest('./abba.scenario.ts')).toReport('lockdep.circular');
 * });
 * test('my driver is clean on 200 schedules', async () => {
 *   expect(await exploreInTest('./my-driver.scenario.ts', { schedules: 200 })).toBeClean();
 * });
 * ```
 *
 * vitest is a peer dependency: this entry is for projects that test with it.
 */
import { expect } from 'vitest';
import { dmabufLabMatchers } from './matchers.ts';

export { runInTest, exploreInTest } from './harness.ts';
export type {
  ScenarioInput,
  TestRunOptions,
  TestRun,
  TestExploreOptions,
  TestExploration,
  TestBug,
} from './harness.ts';
export { toBeClean, toReport, dmabufLabMatchers } from './matchers.ts';
export type { MatcherResult } from './matchers.ts';
export { findingsOf, splatText } from './findings.ts';
export type {
  Finding,
  Findings,
  ExplorationLike,
  ExplorationBugLike,
  RunLike,
} from './findings.ts';

expect.extend(dmabufLabMatchers);

/** The matchers' types, added to vitest's `expect(...)`. */
interface DmabufLabMatchers<R = unknown> {
  /** No splat above severity `info`, no failed run, no limit reached. */
  toBeClean(): R;
  /** Some splat has rule id `rule` (e.g. `lockdep.circular`). */
  toReport(rule: string): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends DmabufLabMatchers<T> {}
}
