/**
 * `--faults signal`: a driver whose wait ioctl leaks a fence reference when
 * a signal interrupts the wait (wait-ioctl-signal-leak) is found only with
 * signals explored, by every strategy, shrunk to the one signal, and the
 * shrunk schedule replays to the same report, event for event; the fixed
 * driver is clean with signals on every interruptible sleep. A plain run
 * with the scenario's signal rate leaks exactly on the seeds that deliver a
 * signal, and replays from its schedule to the same events. Explorations
 * with signals give the same result file twice, on 1 and 2 workers, and
 * split in shards.
 */
import { describe, expect, test } from 'vitest';
import { explore, exploreShard, loadScenario, mergeShards, replaySchedule, resultJson, runScenario } from '../../src/explore/index.ts';
import type { ScenarioRun } from '../../src/explore/index.ts';
import type { ExploreOptions } from '../../src/explore/index.ts';
import { EventHasher } from '../../src/trace/index.ts';

const BUGGY = 'wait-ioctl-signal-leak';
const FIXED = 'wait-ioctl-signal-leak-fixed';
const STRATEGIES = ['random', 'pct', 'dfs'] as const;

describe('a fence reference leaked on -ERESTARTSYS (wait-ioctl-signal-leak)', () => {
  test('thread order alone, or other faults: every strategy comes back clean; dfs exhausts it', async () => {
    const { scenario } = await loadScenario(BUGGY);
    for (const strategy of STRATEGIES) {
      const r = await explore(scenario, { strategy, schedules: 200, until: 'all' });
      expect(r.bugs, strategy).toEqual([]);
    }
    const others = await explore(scenario, { strategy: 'dfs', faults: ['alloc', 'ww', 'hang', 'timer', 'irq'], until: 'all' });
    expect(others).toMatchObject({ exhausted: true, bugs: [] });
  });

  test('with faults signal: every strategy finds the leak, shrunk to the one signal, 1-minimal', async () => {
    const { scenario } = await loadScenario(BUGGY);
    for (const strategy of STRATEGIES) {
      const r = await explore(scenario, { strategy, faults: ['signal'], schedules: 200 });
      const bug = r.bugs.find((b) => b.rule === 'lifetime.leak');
      expect(bug, strategy).toBeDefined();
      expect(bug!.splat.headline).toContain('dma_fence');
      const shrunk = bug!.shrunk!;
      expect(shrunk.oneMinimal).toBe(true);
      expect(shrunk.after).toMatchObject({ deviations: 1, faults: 1, preemptions: 0 });
      expect(shrunk.schedule.decisions).toEqual([
        { kind: 'signal', label: 'inject:app:dma_fence_default_wait' },
      ]);
      expect(shrunk.deviations[0]).toMatchObject({ name: 'signal:app:dma_fence_default_wait', kind: 'signal', cost: 2 });
    }
  });

  test('the shrunk schedule replays to the same leak, with the same events each time', async () => {
    const { scenario } = await loadScenario(BUGGY);
    const r = await explore(scenario, { strategy: 'pct', faults: ['signal'] });
    const shrunk = r.bugs[0]!.shrunk!;
    const hashes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await replaySchedule(scenario, shrunk.schedule, { trace: true, captureStacks: false });
      expect(run.unused).toBe(0);
      expect(run.result.failure).toBeNull();
      expect(run.result.splats.map((s) => s.rule)).toEqual(['lifetime.leak']);
      expect(run.notes).toEqual(['TOY_WAIT_FENCE returned 0 after 2 calls']);
      const h = new EventHasher();
      for (const e of run.events!) h.add(e);
      hashes.push(h.digest());
      // The interrupted sleep is in the events: blocked, signalled, woken by the signal.
      const types = run.events!.filter((e) => e.type === 'signal' || (e.type === 'wake' && e.reason === 'signal'));
      expect(types.map((e) => e.type)).toEqual(['signal', 'wake']);
    }
    expect(hashes[1]).toBe(hashes[0]);
  });

  test("run: the scenario's signal rate leaks on the seeds that deliver a signal; each such run replays from its schedule to the same events, byte for byte", async () => {
    const { scenario } = await loadScenario(BUGGY);
    const hash = (run: ScenarioRun): string => {
      const h = new EventHasher();
      for (const e of run.events!) h.add(e);
      return h.digest();
    };
    const signalled: number[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const run = await runScenario(scenario, { seed, trace: true, captureStacks: false });
      const signals = run.result.schedule.decisions.filter((d) => d.kind === 'signal').length;
      // A signal at the first wait leaks; a wait nobody interrupts does not.
      expect(run.verdict.rules, `seed ${seed}`).toEqual(signals > 0 ? ['lifetime.leak'] : []);
      if (signals === 0) continue;
      signalled.push(seed);
      const again = await runScenario(scenario, { seed, trace: true, captureStacks: false });
      const replay = await replaySchedule(scenario, run.result.schedule, { trace: true, captureStacks: false });
      expect(replay.unused).toBe(0);
      expect(replay.notes).toEqual(run.notes);
      expect(hash(again)).toBe(hash(run));
      expect(hash(replay)).toBe(hash(run));
    }
    expect(signalled.length).toBeGreaterThan(0);
    expect(signalled.length).toBeLessThan(8);
  });

  test('--max-faults 0 delivers no signal', async () => {
    const { scenario } = await loadScenario(BUGGY);
    expect(await explore(scenario, { strategy: 'dfs', faults: ['signal'], maxFaults: 0, until: 'all' })).toMatchObject({ exhausted: true, bugs: [] });
  });
});

describe('the fixed driver (wait-ioctl-signal-leak-fixed)', () => {
  test('clean with a signal at any interruptible sleep, up to three per schedule', async () => {
    const { scenario } = await loadScenario(FIXED);
    const dfs = await explore(scenario, { strategy: 'dfs', faults: ['signal'], maxFaults: 3, until: 'all' });
    expect(dfs).toMatchObject({ exhausted: true, bugs: [] });
    // Up to three interrupted waits and the final one: more schedules than the one default run.
    expect(dfs.schedules).toBeGreaterThan(3);
    const pct = await explore(scenario, { strategy: 'pct', faults: ['signal'], maxFaults: 3, schedules: 300, until: 'all' });
    expect(pct.bugs).toEqual([]);
  });
});

describe('explorations with signals are deterministic', () => {
  const cases: [string, ExploreOptions][] = [
    ['random', { strategy: 'random', faults: ['signal'], schedules: 60, until: 'all', ref: BUGGY }],
    ['dfs', { strategy: 'dfs', faults: ['signal'], maxFaults: 2, until: 'all', ref: BUGGY }],
  ];
  for (const [what, options] of cases) {
    test(`${what}: twice, 1 vs 2 workers, 2 shards merged`, async () => {
      const { scenario } = await loadScenario(BUGGY);
      const once = resultJson(await explore(scenario, options));
      expect(JSON.parse(once)).toMatchObject({ bugs: [{ rule: 'lifetime.leak' }] });
      expect(resultJson(await explore(scenario, options))).toBe(once);
      expect(resultJson(await explore(scenario, { ...options, workers: 2 }))).toBe(once);
      const shards = await Promise.all([0, 1].map((index) => exploreShard(scenario, { index, count: 2 }, options)));
      const merged = mergeShards(shards.map((s, i) => ({ name: `s${i}.json`, data: JSON.parse(resultJson(s)) as unknown })));
      expect(resultJson(merged)).toBe(once);
    }, 60_000);
  }
});
