/**
 * Each strategy finds a bug that needs it: a use after free that needs two
 * preemptions (PCT with depth 3, dfs with a bound of 2), a fence leaked on
 * an injected -ENOMEM (only with `faults: ['alloc']`), an ABBA whose
 * halves are on different schedules (the accumulated lockdep graph).
 */
import { describe, expect, test } from 'vitest';
import { explore, loadScenario, runScenario } from '../../src/explore/index.ts';
import unbindOpen from './fixtures/unbind-open-race.ts';
import abbaHalves from './fixtures/abba-halves.ts';

const UAF = 'refcount.addition_on_0';

describe('a use after free that needs two preemptions (unbind vs open)', () => {
  test('dfs: exhausts the space with 1 preemption without it; finds it with 2, on its 3rd schedule', async () => {
    const one = await explore(unbindOpen, { strategy: 'dfs', preemptions: 1, until: 'all' });
    expect(one).toMatchObject({ stoppedBy: 'exhausted', exhausted: true, schedules: 6, bugs: [] });
    const two = await explore(unbindOpen, { strategy: 'dfs', preemptions: 2 });
    const bug = two.bugs.find((b) => b.rule === UAF)!;
    expect(bug.firstSchedule).toBe(2);
    expect(two.schedules).toBe(3);
    expect(bug.sizes.preemptions).toBe(2);
  });

  test('pct: depth 2 never finds it in 300 schedules; depth 3 finds it (seed 1: on schedule 14)', async () => {
    const d2 = await explore(unbindOpen, { strategy: 'pct', depth: 2, schedules: 300 });
    expect(d2.bugs).toEqual([]);
    const d3 = await explore(unbindOpen, { strategy: 'pct', depth: 3, schedules: 300 });
    const bug = d3.bugs.find((b) => b.rule === UAF)!;
    expect(bug.firstSchedule).toBe(14);
    // The guarantee is reported for the observed thread and step counts.
    expect(d3.pctGuarantee).toBeCloseTo(1 / (d3.threads * d3.steps ** 2), 12);
  });

  test('random finds it and shrinks it to the two preemptions', async () => {
    const r = await explore(unbindOpen, { strategy: 'random', schedules: 200 });
    const bug = r.bugs.find((b) => b.rule === UAF)!;
    expect(bug.shrunk!.before.deviations).toBeGreaterThan(2);
    expect(bug.shrunk!.after).toMatchObject({ deviations: 2, preemptions: 2, faults: 0 });
    expect(bug.shrunk!.oneMinimal).toBe(true);
  });
});

describe('a fence leaked on an injected -ENOMEM (submit-enomem-leak)', () => {
  test('thread order alone: every strategy comes back clean; dfs exhausts it in 2 schedules', async () => {
    const { scenario } = await loadScenario('submit-enomem-leak');
    for (const strategy of ['random', 'pct'] as const) {
      expect((await explore(scenario, { strategy, schedules: 100 })).bugs).toEqual([]);
    }
    expect(await explore(scenario, { strategy: 'dfs' })).toMatchObject({ exhausted: true, schedules: 2, bugs: [] });
  });

  test('with faults alloc: every strategy finds the leak, shrunk to the one injected failure', async () => {
    const { scenario } = await loadScenario('submit-enomem-leak');
    for (const strategy of ['random', 'pct', 'dfs'] as const) {
      const r = await explore(scenario, { strategy, faults: ['alloc'], schedules: 100 });
      const bug = r.bugs.find((b) => b.rule === 'lifetime.leak');
      expect(bug, strategy).toBeDefined();
      expect(bug!.shrunk!.after).toMatchObject({ faults: 1, preemptions: 0 });
      const faults = bug!.shrunk!.schedule.decisions.filter((d) => d.kind === 'alloc');
      expect(faults).toHaveLength(1);
      expect(faults[0]!.label).toMatch(/^inject:ring_submit:job(#2)?$/);
    }
  });

  test('at most --max-faults faults per schedule: 0 injects nothing', async () => {
    const { scenario } = await loadScenario('submit-enomem-leak');
    const r = await explore(scenario, { strategy: 'dfs', faults: ['alloc'], maxFaults: 0 });
    expect(r).toMatchObject({ schedules: 2, bugs: [] });
  });
});

describe('an ABBA whose halves are on different schedules (the accumulated graph)', () => {
  test('no single run shows a cycle', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      expect((await runScenario(abbaHalves, { seed })).verdict.actual).toBe('clean');
    }
  });

  test('dfs reports it, naming the schedules that showed each half', async () => {
    const r = await explore(abbaHalves, { strategy: 'dfs', until: 'all' });
    expect(r.bugs).toHaveLength(1);
    const bug = r.bugs[0]!;
    expect(bug).toMatchObject({ rule: 'lockdep.circular', key: 'lockdep.circular:&dev->lock|&queue->lock', acrossSchedules: [0, 1], firstSchedule: 1, shrunk: null });
    expect(bug.splat.body).toContain('schedule 0');
    expect(bug.splat.body).toContain('schedule 1');
    expect(r.dependencies).toBe(2);
  });

  test('so do random and pct, and --until first stops there', async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = await explore(abbaHalves, { strategy, schedules: 100 });
      expect(r.bugs.map((b) => b.rule), strategy).toEqual(['lockdep.circular']);
      expect(r.stoppedBy).toBe('first-bug');
      expect(r.schedules).toBe(r.bugs[0]!.firstSchedule + 1);
    }
  });
});

describe('deduplication', () => {
  test('a bug on every schedule is one bug, counted on each (lockdep judges every schedule afresh)', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const r = await explore(scenario, { strategy: 'random', schedules: 64, until: 'all' });
    const circular = r.bugs.filter((b) => b.rule === 'lockdep.circular');
    expect(circular).toHaveLength(1);
    expect(circular[0]!.schedules).toBe(64);
    const deadlock = r.bugs.find((b) => b.rule === 'sched.deadlock')!;
    expect(deadlock.schedules).toBeGreaterThan(0);
    expect(deadlock.schedules).toBeLessThan(64);
  });
});
