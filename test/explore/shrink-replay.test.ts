/**
 * Shrinking: the shrunk schedule is 1-minimal (checked here independently,
 * by removing each remaining deviation) and replays, by name, to the same
 * bug, also with stack capture on (as `--trace-dir` replays it) and twice
 * to the same event stream.
 */
import { describe, expect, test } from 'vitest';
import {
  bugKey,
  chooserConfig,
  DeviationStrategy,
  explore,
  ExploreChooser,
  ExploreSession,
  findingsOf,
  loadScenario,
  replaySchedule,
  resolveSettings,
} from '../../src/explore/index.ts';
import type { Bug, ExploreOptions, Scenario, Shrunk } from '../../src/explore/index.ts';
import { eventStreamHash } from '../../src/trace/index.ts';
import unbindOpen from './fixtures/unbind-open-race.ts';

async function shows(scenario: Scenario, options: ExploreOptions, bug: Bug, deviations: Shrunk['deviations']): Promise<boolean> {
  const config = { ...chooserConfig(resolveSettings(options)), maxPreemptions: Number.POSITIVE_INFINITY };
  const session = new ExploreSession(scenario, { seed: 1, chooser: config });
  const o = await session.runWith(new ExploreChooser(new DeviationStrategy(deviations), config), bug.shrunk!.schedule.seed);
  return findingsOf(o.result).some((s) => bugKey(s) === bug.key);
}

const CASES: [string, () => Promise<Scenario>, ExploreOptions, string][] = [
  ['the unbind/open use after free found by random', () => Promise.resolve(unbindOpen), { strategy: 'random', schedules: 200 }, 'refcount.addition_on_0'],
  ['the -ENOMEM leak found by pct', async () => (await loadScenario('submit-enomem-leak')).scenario, { strategy: 'pct', faults: ['alloc'], schedules: 200 }, 'lifetime.leak'],
  ['the mutex-abba deadlock found by random', async () => (await loadScenario('mutex-abba')).scenario, { strategy: 'random', schedules: 50, until: 'all' }, 'sched.deadlock'],
];

describe('shrinking', () => {
  for (const [what, load, options, rule] of CASES) {
    test(`${what}: 1-minimal, and replays to the same bug`, async () => {
      const scenario = await load();
      const r = await explore(scenario, options);
      const bug = r.bugs.find((b) => b.rule === rule)!;
      const shrunk = bug.shrunk!;
      expect(shrunk.oneMinimal).toBe(true);
      expect(shrunk.after.deviations).toBeLessThanOrEqual(shrunk.before.deviations);
      // The deviations left all matter: with all of them the bug shows, without any one it does not.
      expect(await shows(scenario, options, bug, shrunk.deviations)).toBe(true);
      for (let i = 0; i < shrunk.deviations.length; i++) {
        const without = shrunk.deviations.filter((_, j) => j !== i);
        expect(await shows(scenario, options, bug, without), `without deviation ${i}`).toBe(false);
      }
      // The saved form (decisions by name) replays to the same bug, with stack capture on too.
      for (const captureStacks of [false, true]) {
        const run = await replaySchedule(scenario, shrunk.schedule, { captureStacks, trace: true });
        expect(run.unused).toBe(0);
        expect(run.result.failure).toBeNull();
        expect(findingsOf(run.result).map((s) => bugKey(s))).toContain(bug.key);
      }
      const a = await replaySchedule(scenario, shrunk.schedule, { trace: true });
      const b = await replaySchedule(scenario, shrunk.schedule, { trace: true });
      expect(eventStreamHash(b.events!)).toBe(eventStreamHash(a.events!));
    });
  }
});
