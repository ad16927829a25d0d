import { describe, expect, test } from 'vitest';
import {
  defineScenario,
  loadScenario,
  runScenario,
  ScenarioError,
} from '../../src/scenario/index.ts';
import { Mutex, ReplayChooser } from '../../src/kernel/index.ts';
import { eventStreamHash } from '../../src/trace/index.ts';

describe('mutex-abba', () => {
  test('deadlocks on some seeds, and the report names both threads and both locks', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const runs = [];
    for (let seed = 1; seed <= 8; seed++) runs.push(await runScenario(scenario, { seed }));
    const dead = runs.filter((r) => r.result.end === 'deadlock');
    expect(dead.length).toBeGreaterThan(0);
    expect(dead.length).toBeLessThan(runs.length);
    const report = dead[0]!.result.splats.find((s) => s.rule === 'sched.deadlock')!;
    for (const word of ['thread_ab', 'thread_ba', 'lock_a', 'lock_b'])
      expect(report.body).toContain(word);
    for (const r of dead) expect(r.verdict.matches).toBe(true);
  });

  test('the same seed gives the same event stream, and its schedule replays to it', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const a = await runScenario(scenario, { seed: 2, trace: true });
    const b = await runScenario(scenario, { seed: 2, trace: true });
    expect(eventStreamHash(b.events!)).toBe(eventStreamHash(a.events!));
    const replay = new ReplayChooser(a.result.schedule);
    const c = await runScenario(scenario, { seed: 2, trace: true, chooser: replay });
    expect(eventStreamHash(c.events!)).toBe(eventStreamHash(a.events!));
    expect(replay.remaining).toBe(0);
  });
});

describe('runScenario', () => {
  test('a schedule that does not fit fails the run (even at the first decision) instead of rejecting', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const chooser = new ReplayChooser({
      seed: 1,
      decisions: [{ kind: 'thread', label: 'nobody' }],
    });
    const run = await runScenario(scenario, { chooser });
    expect(run.result.end).toBe('failed');
    expect(run.result.failure?.kind).toBe('replay-divergence');
    expect(run.verdict.actual).toBe('error');
  });

  test('passes the seed and collects notes', async () => {
    const s = defineScenario({
      name: 'notes',
      description: '',
      expect: { verdict: 'clean' },
      setup(k, ctx) {
        ctx.note(`seed ${ctx.seed}`);
        const m = new Mutex(k, 'm');
        k.kthreadRun('t', async () => {
          await m.lock();
          m.unlock();
        });
      },
    });
    const run = await runScenario(s, { seed: 7 });
    expect(run.notes).toEqual(['seed 7']);
    expect(run.verdict).toMatchObject({ actual: 'clean', matches: true });
    expect(run.events).toBeNull();
  });

  test("applies limits given to the run over the scenario's own", async () => {
    const s = defineScenario({
      name: 'spin',
      description: '',
      expect: { verdict: 'clean' },
      kernel: { limits: { maxSteps: 1_000_000 } },
      setup(k) {
        k.kthreadRun('poller', async () => {
          for (;;) await k.schedulePoint('poll');
        });
      },
    });
    const run = await runScenario(s, { limits: { maxSteps: 100 } });
    expect(run.result.end).toBe('step-limit');
    expect(run.result.steps).toBe(100);
    expect(run.verdict.actual).toBe('limit');
  });

  test('a setup that throws is a ScenarioError naming the scenario', async () => {
    const s = defineScenario({
      name: 'broken',
      description: '',
      expect: { verdict: 'clean' },
      setup() {
        throw new Error('no such device');
      },
    });
    const err = await runScenario(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).kind).toBe('setup');
    expect((err as Error).message).toMatch(/"broken" threw: no such device/);
  });
});
