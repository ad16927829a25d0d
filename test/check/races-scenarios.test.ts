/**
 * The race detector's and KASAN's scenarios: each buggy one reports its
 * rules on every seed tried, each fixed twin is clean on every seed, the
 * reports do not depend on the interleaving, and a run replays event for
 * event from its recorded schedule with the checkers on.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { explainRule } from '../../src/check/index.ts';
import { loadScenario, runScenario } from '../../src/explore/index.ts';
import type { RunScenarioOptions } from '../../src/explore/index.ts';
import { ReplayChooser } from '../../src/kernel/index.ts';

const NAMES = ['push-job-then-touch', 'timeline-signal-vs-put', 'timeout-uses-freed-job', 'driver-state-data-race', 'fence-callback-sleeps'];
const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

async function hashed(name: string, opts: RunScenarioOptions) {
  const { scenario } = await loadScenario(name);
  const h = createHash('sha256');
  const run = await runScenario(scenario, {
    ...opts,
    onEvent: (e) => {
      h.update(JSON.stringify(e));
    },
  });
  return { run, hash: h.digest('hex') };
}

describe('race and lifetime scenarios', () => {
  for (const name of NAMES) {
    for (const variant of [name, `${name}-fixed`]) {
      it(`${variant} matches its expectation on seeds 1-${SEEDS.length}`, async () => {
        const { scenario } = await loadScenario(variant);
        expect(scenario.expect.verdict).toBe(variant.endsWith('-fixed') ? 'clean' : 'splat');
        for (const seed of SEEDS) {
          const run = await runScenario(scenario, { seed });
          expect(run.result.failure).toBeNull();
          expect(run.verdict.matches, `${variant} seed ${seed}: ${run.verdict.reason}`).toBe(true);
        }
      });
    }
  }

  it('every rule the scenarios expect has an explain entry', async () => {
    for (const name of NAMES) {
      const { scenario } = await loadScenario(name);
      if (scenario.expect.verdict !== 'splat') continue;
      for (const rule of scenario.expect.rules) expect(explainRule(rule), rule).not.toBeNull();
    }
  });

  it('with --no-races the buggy race scenarios run clean (the detector is what finds them)', async () => {
    for (const name of ['push-job-then-touch', 'timeline-signal-vs-put', 'driver-state-data-race']) {
      const { scenario } = await loadScenario(name);
      const run = await runScenario(scenario, { seed: 1, races: false });
      expect(run.verdict.rules.filter((r) => r.startsWith('kcsan.') || r.startsWith('kasan.'))).toEqual([]);
    }
  });

  it('runs replay event for event from their schedule with the checkers on, and stack capture names the source line', async () => {
    for (const name of NAMES) {
      const a = await hashed(name, { seed: 3 });
      const b = await hashed(name, { seed: 3 });
      const r = await hashed(name, { seed: 3, chooser: new ReplayChooser(a.run.result.schedule) });
      expect(b.hash).toBe(a.hash);
      expect(r.hash).toBe(a.hash);
      expect(r.run.result.splats).toEqual(a.run.result.splats);
    }
    const { run } = await hashed('push-job-then-touch', { seed: 1, captureStacks: true });
    const race = run.result.splats.find((s) => s.rule === 'kcsan.data_race')!;
    expect(race.headline).toBe('BUG: KCSAN: data-race in drm_sched_job_cleanup / submit-ioctl');
    expect(race.body).toMatch(/read to job->s_fence \(GpuJob\) of 8 bytes by task 2 \(submit-ioctl\):\n scenarios\/push-job-then-touch\.ts:\d+/);
  });
});
