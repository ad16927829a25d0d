import { describe, expect, it } from 'vitest';
import { Completion, Kernel, msleep, Mutex, ThreadKilled } from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

describe('the scheduler', () => {
  it('counts one step per scheduling decision and runs exactly one thread at a time', async () => {
    const k = new Kernel({ seed: 4 });
    let inside = 0;
    let peak = 0;
    for (const name of ['a', 'b', 'c']) {
      k.kthreadRun(name, async () => {
        for (let i = 0; i < 10; i++) {
          peak = Math.max(peak, ++inside);
          inside--;
          await k.schedulePoint('yield');
        }
      });
    }
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(peak).toBe(1);
    // 3 starts + 30 resumptions after the scheduling points.
    expect(r.steps).toBe(33);
    expect(r.schedule.decisions.every((d) => d.kind === 'thread')).toBe(true);
  });

  it('current is the running thread and throws outside any thread', async () => {
    const k = new Kernel();
    expect(() => k.current).toThrow(/outside a simulated thread/);
    expect(k.currentOrNull).toBeNull();
    const m = new Mutex(k, 'm');
    await expect(m.lock()).rejects.toThrow(/kthreadRun/);
    let me = '';
    k.kthreadRun('worker', () => {
      me = k.current.name;
    });
    await k.run();
    expect(me).toBe('worker');
    expect(() => k.current).toThrow(/outside a simulated thread/);
  });

  it('gives threads unique names', () => {
    const k = new Kernel();
    const names = [1, 2, 3].map(() => k.kthreadRun('same', () => {}).name);
    expect(names).toEqual(['same', 'same#2', 'same#3']);
  });

  it('run() may be called once', async () => {
    const k = new Kernel();
    await k.run();
    expect(() => k.run()).toThrow(/once per kernel/);
  });
});

describe('deadlock detection', () => {
  it('ABBA: the report names both threads, the locks they wait on, and who holds them', async () => {
    let found = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const k = new Kernel({ seed });
      const a = new Mutex(k, 'A');
      const b = new Mutex(k, 'B');
      k.kthreadRun('one', async () => {
        await a.lock();
        await b.lock();
        b.unlock();
        a.unlock();
      });
      k.kthreadRun('two', async () => {
        await b.lock();
        await a.lock();
        a.unlock();
        b.unlock();
      });
      const r = await k.run();
      if (r.end !== 'deadlock') {
        expect(r.splats).toEqual([]);
        continue;
      }
      found++;
      expect(rules(r)).toEqual(['sched.deadlock']);
      const s = r.splats[0]!;
      expect(s.body).toContain(
        'one blocked in mutex_lock on mutex B (held by two)\n    holding: A',
      );
      expect(s.body).toContain(
        'two blocked in mutex_lock on mutex A (held by one)\n    holding: B',
      );
      expect(s.data).toEqual({
        threads: [
          { thread: 'one', op: 'mutex_lock', waitsOn: 'mutex B', owners: ['two'], holding: ['A'] },
          { thread: 'two', op: 'mutex_lock', waitsOn: 'mutex A', owners: ['one'], holding: ['B'] },
        ],
      });
    }
    expect(found).toBeGreaterThan(0);
    expect(found).toBeLessThan(8); // the interleaving decides: some seeds complete
  });

  it('a thread waiting for a completion nobody will complete is a deadlock; a blocked daemon is not', async () => {
    const k = new Kernel({ seed: 1 });
    const c = new Completion(k, 'never');
    k.kthreadRun(
      'daemon',
      async () => {
        await c.waitForCompletion();
      },
      { daemon: true },
    );
    const r1 = await k.run();
    expect(r1.end).toBe('completed');

    const k2 = new Kernel({ seed: 1 });
    const c2 = new Completion(k2, 'never');
    k2.kthreadRun('waiter', async () => {
      await c2.waitForCompletion();
    });
    const r2 = await k2.run();
    expect(r2.end).toBe('deadlock');
    expect(r2.splats[0]!.body).toContain(
      'waiter blocked in wait_event on wait queue never (no known owner)',
    );
  });
});

describe('misuse and failures', () => {
  it('awaiting something outside the kernel fails the run, naming the thread', async () => {
    const foreign: Record<string, () => Promise<unknown>> = {
      timer: () => new Promise((resolve) => setTimeout(resolve, 5)),
      immediate: () => new Promise((resolve) => setImmediate(resolve)),
      never: () => new Promise(() => {}),
    };
    for (const [what, wait] of Object.entries(foreign)) {
      const k = new Kernel();
      k.kthreadRun(`bad-${what}`, async () => {
        await msleep(k, 1);
        await wait();
        await msleep(k, 1);
      });
      const r = await k.run();
      expect(r.end).toBe('failed');
      expect(r.failure?.kind).toBe('foreign-await');
      expect(r.failure?.thread).toBe(`bad-${what}`);
      expect(r.failure?.message).toContain(
        `thread "bad-${what}" awaited something that is not a kernel operation (after its kernel operation "msleep")`,
      );
    }
  });

  it('a missing await is reported with a hint to add it', async () => {
    const k = new Kernel({ seed: 1 });
    const m = new Mutex(k, 'm');
    k.kthreadRun('other', async () => {
      await msleep(k, 1);
    });
    k.kthreadRun('float', async () => {
      void m.lock();
      await msleep(k, 1);
    });
    const r = await k.run();
    expect(r.end).toBe('failed');
    expect(r.failure?.message).toMatch(/Add `await` in front of every kernel operation/);
  });

  it('a body that returns while its kernel operation is parked is reported', async () => {
    const k = new Kernel({ seed: 1 });
    k.kthreadRun('other', async () => {
      await msleep(k, 1);
    });
    k.kthreadRun('sync', () => {
      void msleep(k, 5);
    });
    const r = await k.run();
    expect(r.end).toBe('failed');
    expect(r.failure).toMatchObject({ kind: 'misuse', thread: 'sync' });
    expect(r.failure?.message).toContain('add `await`');
  });

  it('an exception in a thread fails the run with the thread and the error', async () => {
    const k = new Kernel();
    const boom = new Error('boom');
    k.kthreadRun('thrower', async () => {
      await msleep(k, 1);
      throw boom;
    });
    const r = await k.run();
    expect(r.end).toBe('failed');
    expect(r.failure).toMatchObject({ kind: 'thread-exception', thread: 'thrower', error: boom });
    expect(r.failure?.message).toBe('thread "thrower" threw: boom');
  });

  it('ThreadKilled (BUG) ends only that thread, with its code', async () => {
    const k = new Kernel();
    let otherDone = false;
    k.kthreadRun('victim', () => {
      throw new ThreadKilled(-11);
    });
    k.kthreadRun('other', async () => {
      await msleep(k, 1);
      otherDone = true;
    });
    const r = await k.run();
    expect(r.end).toBe('completed');
    expect(r.exits.get('victim')).toBe(-11);
    expect(otherDone).toBe(true);
  });
});

describe('kthreads', () => {
  it('kthread_stop sets should_stop, wakes the thread and returns its exit code', async () => {
    const k = new Kernel({ seed: 2 });
    let loops = 0;
    const t = k.kthreadRun('poller', async () => {
      while (!k.kthreadShouldStop()) {
        loops++;
        await msleep(k, 10);
      }
      return 42;
    });
    let code = -1;
    let stoppedAt = -1;
    k.kthreadRun('stopper', async () => {
      await msleep(k, 25);
      code = await k.kthreadStop(t);
      stoppedAt = k.nowNs;
    });
    const r = await k.run();
    expect(code).toBe(42);
    expect(loops).toBe(3);
    expect(stoppedAt).toBe(33e6); // msleep ignores the wake-up of kthread_stop: the poller finishes its sleep
    expect(r.exits.get('poller')).toBe(42);
    expect(r.exits.get('stopper')).toBe(0);
  });

  it('kthread_stop on a thread that already exited returns its code at once', async () => {
    const k = new Kernel({ seed: 2 });
    const t = k.kthreadRun('quick', () => 7);
    let code = -1;
    k.kthreadRun('stopper', async () => {
      await msleep(k, 1);
      code = await k.kthreadStop(t);
    });
    await k.run();
    expect(code).toBe(7);
  });
});

describe('limits', () => {
  it('the step limit ends the run with its reason and a run.limit splat', async () => {
    const k = new Kernel({ limits: { maxSteps: 100 } });
    k.kthreadRun('spinner', async () => {
      for (;;) await k.schedulePoint('spin');
    });
    const r = await k.run();
    expect(r.end).toBe('step-limit');
    expect(r.steps).toBe(100);
    expect(rules(r)).toEqual(['run.limit']);
    expect(r.splats[0]!.headline).toBe('run stopped at the step limit (100 scheduling steps)');
    expect(r.splats[0]!.body).toContain('spinner');
    expect(r.limits.maxSteps).toBe(100);
  });

  it('the virtual-time limit ends the run before a timer beyond it fires', async () => {
    const k = new Kernel({ limits: { maxVirtualTimeNs: 1e9 } });
    let woke = false;
    k.kthreadRun('sleeper', async () => {
      await msleep(k, 500);
      await msleep(k, 600);
      woke = true;
    });
    const r = await k.run();
    expect(r.end).toBe('time-limit');
    expect(woke).toBe(false);
    expect(r.timeNs).toBe(501e6);
    expect(r.splats[0]!.rule).toBe('run.limit');
    expect(r.splats[0]!.headline).toBe('run stopped at the virtual-time limit (1 s)');
  });

  it('has defaults that a run reports', async () => {
    const r = await new Kernel().run();
    expect(r.limits).toEqual({ maxSteps: 5_000_000, maxVirtualTimeNs: 3_600e9 });
  });
});
