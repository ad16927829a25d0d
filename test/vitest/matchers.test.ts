/**
 * The `dmabuf-lab/vitest` entry: the matchers pass and fail on the right
 * results, their messages carry the splat text and a replay command that
 * names the same run, and the helpers respect their budget.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { exploreInTest, runInTest } from '../../src/vitest/index.ts';
import { defineScenario, explore, loadScenario, runScenario } from '../../src/explore/index.ts';
import { Mutex, msleep } from '../../src/kernel/index.ts';

/** The message of a failed expectation. */
function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the expectation passed');
}

const abba = defineScenario({
  name: 'inline-abba',
  description: 'two threads, two mutexes, opposite orders',
  expect: { verdict: 'clean' },
  setup(k) {
    const a = new Mutex(k, 'a');
    const b = new Mutex(k, 'b');
    k.kthreadRun('ab', async () => {
      await a.lock();
      await msleep(k, 1);
      await b.lock();
      b.unlock();
      a.unlock();
    });
    k.kthreadRun('ba', async () => {
      await b.lock();
      await msleep(k, 1);
      await a.lock();
      a.unlock();
      b.unlock();
    });
  },
});

describe('runInTest and the matchers on one run', () => {
  test('a built-in scenario by name reports its rules and replays with the CLI', async () => {
    const run = await runInTest('mutex-abba', { seed: 2 });
    expect(run).toReport('sched.deadlock');
    expect(run).toReport('lockdep.circular');
    expect(run).not.toReport('fence.signalled_early');
    expect(run.replay).toBe('dmabuf-lab run mutex-abba --seed 2');
    const msg = failure(() => {
      expect(run).toBeClean();
    });
    expect(msg).toContain('expected mutex-abba (seed 2) to be clean, but it reported 2 splats');
    expect(msg).toContain('[sched.deadlock] INFO: task deadlock');
    expect(msg).toContain('thread_ab blocked in mutex_lock on mutex lock_b');
    expect(msg).toContain(
      '[lockdep.circular] WARNING: possible circular locking dependency detected',
    );
    expect(msg).toContain('replay: dmabuf-lab run mutex-abba --seed 2');
  });

  test('the replay command names a run with the same splats', async () => {
    const run = await runInTest('mutex-abba', { seed: 2, limits: { maxSteps: 10_000 } });
    expect(run.replay).toBe('dmabuf-lab run mutex-abba --seed 2 --max-steps 10000');
    const again = await runScenario(run.scenario, { seed: 2 });
    expect(again.result.splats.map((s) => s.body)).toEqual(run.result.splats.map((s) => s.body));
  });

  test('a clean run passes toBeClean and fails toReport with what it did report', async () => {
    const run = await runInTest('ww-backoff');
    expect(run).toBeClean();
    const msg = failure(() => {
      expect(run).toReport('lockdep.circular');
    });
    expect(msg).toBe(
      'expected ww-backoff (seed 1) to report lockdep.circular, but it reported nothing',
    );
  });

  test('.not.toReport prints the unwanted splat and its replay', async () => {
    const run = await runInTest(abba, { seed: 3 });
    const msg = failure(() => {
      expect(run).not.toReport('lockdep.circular');
    });
    expect(msg).toContain(
      'expected inline-abba (seed 3) not to report lockdep.circular, but it did',
    );
    expect(msg).toContain(
      '[lockdep.circular] WARNING: possible circular locking dependency detected',
    );
    expect(msg).toContain('Possible unsafe locking scenario');
    expect(msg).toContain('replay: runInTest(<scenario inline-abba>, { seed: 3 })');
  });

  test('a scenario file is replayed by its path relative to the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmabuf-lab-vitest-'));
    const file = join(dir, 'abba.scenario.ts');
    writeFileSync(
      file,
      `export { default } from ${JSON.stringify(join(process.cwd(), 'scenarios/lockdep-abba.ts'))};\n`,
    );
    const run = await runInTest(file);
    expect(run).toReport('lockdep.circular');
    const rel = relative(process.cwd(), file);
    expect(run.replay).toBe(`dmabuf-lab run ${rel.startsWith('.') ? rel : `./${rel}`} --seed 1`);
  });

  test('a failed run is not clean, and the message says why', async () => {
    const broken = defineScenario({
      name: 'throws',
      description: '',
      expect: { verdict: 'clean' },
      setup(k) {
        k.kthreadRun('thrower', async () => {
          await msleep(k, 1);
          throw new Error('driver bug');
        });
      },
    });
    const run = await runInTest(broken);
    const msg = failure(() => {
      expect(run).toBeClean();
    });
    expect(msg).toMatch(
      /problem: the run failed \(thread-exception in thread thrower\): .*driver bug/,
    );
  });

  test('anything else is refused with a message saying what is expected', () => {
    const msg = failure(() => {
      expect({ splats: [] }).toBeClean();
    });
    expect(msg).toContain('expected a run or an exploration');
    expect(() => {
      expect({ bugs: [] }).toReport('');
    }).toThrow(/needs a rule id/);
  });
});

describe('exploreInTest', () => {
  test('stops at the first schedule that shows a bug, with its seed in the replay', async () => {
    // Without lockdep, only the unlucky interleavings show the ABBA (as a deadlock).
    const { default: mutexAbba } = await import('../../scenarios/mutex-abba.ts');
    const unchecked = { ...mutexAbba, lockdep: false };
    const x = await exploreInTest(unchecked, { schedules: 50, timeMs: 60_000 });
    expect(x).toReport('sched.deadlock');
    expect(x.stoppedBy).toBe('found');
    const deadlock = x.bugs[0]!;
    expect(x.bugs).toHaveLength(1);
    expect(deadlock.seed).toBe(x.schedules);
    expect(deadlock.seed).toBeGreaterThan(1);
    expect(deadlock.replay).toBe(`runInTest(<scenario mutex-abba>, { seed: ${deadlock.seed} })`);
    // That seed really deadlocks, and no earlier seed did.
    expect(await runInTest(unchecked, { seed: deadlock.seed })).toReport('sched.deadlock');
    for (let seed = 1; seed < deadlock.seed; seed++)
      expect(await runInTest(unchecked, { seed })).toBeClean();
  });

  test('with until: all, runs the whole budget and counts the schedules per bug', async () => {
    const x = await exploreInTest('mutex-abba', { schedules: 12, until: 'all', timeMs: 60_000 });
    expect(x.schedules).toBe(12);
    expect(x.stoppedBy).toBe('schedules');
    const circular = x.bugs.find((b) => b.splat.rule === 'lockdep.circular')!;
    expect(circular.count).toBe(12);
    expect(circular.seed).toBe(1);
    const again = await exploreInTest('mutex-abba', {
      schedules: 12,
      until: 'all',
      timeMs: 60_000,
    });
    expect(again.bugs.map((b) => [b.splat.rule, b.seed, b.count])).toEqual(
      x.bugs.map((b) => [b.splat.rule, b.seed, b.count]),
    );
    const msg = failure(() => {
      expect(x).toBeClean();
    });
    expect(msg).toContain('expected mutex-abba: 12 schedules from seed 1 to be clean');
    expect(msg).toContain('(seen on 12 schedules)');
  });

  test('a clean scenario runs every schedule and passes toBeClean', async () => {
    const x = await exploreInTest('ww-backoff', { schedules: 5, seed: 10 });
    expect(x).toBeClean();
    expect(x.schedules).toBe(5);
    expect(x.subject).toBe('ww-backoff: 5 schedules from seed 10');
  });

  test('the time budget stops the exploration after the schedule that crosses it', async () => {
    const x = await exploreInTest('ww-backoff', { schedules: 1_000_000, timeMs: 0 });
    expect(x.schedules).toBe(1);
    expect(x.stoppedBy).toBe('time');
  });
});

describe("the explorer's own results (explore())", () => {
  test('toReport and toBeClean judge its bugs, with the schedule count and a replay hint', async () => {
    const { scenario } = await loadScenario('mutex-abba');
    const x = await explore(scenario, { schedules: 20, until: 'all', ref: 'mutex-abba' });
    expect(x).toReport('lockdep.circular');
    const msg = failure(() => {
      expect(x).toBeClean();
    });
    expect(msg).toContain(`expected mutex-abba: ${x.schedules} schedules explored to be clean`);
    expect(msg).toContain(
      '[lockdep.circular] WARNING: possible circular locking dependency detected',
    );
    expect(msg).toContain(
      'dmabuf-lab explore mutex-abba --trace-dir DIR saves its shrunk schedule',
    );
    const clean = await explore((await loadScenario('ww-backoff')).scenario, { schedules: 10 });
    expect(clean).toBeClean();
  });
});
