import { describe, expect, it } from 'vitest';
import { Errno, Kernel, ReplayChooser, WwAcquireCtx, WwMutex, defineWdClass, defineWwClass, msleep } from '../../src/kernel/index.ts';
import type { Kernel as KernelT, RunResult, Thread } from '../../src/kernel/index.ts';
import { InjectAtChooser, lockAll } from './ww-mutex-helpers.ts';
import type { BackoffStats } from './ww-mutex-helpers.ts';

const wd = defineWdClass('misuse_wd');
const other = defineWwClass('misuse_other');

async function single(body: (k: KernelT, self: Thread) => Promise<void> | void, k = new Kernel()): Promise<RunResult> {
  k.kthreadRun('t', async (self) => {
    await body(k, self);
  });
  return k.run();
}

const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

/** A kernel whose first ww slow-path question (acquired > 1) injects -EDEADLK. */
const injectFirst = (): Kernel => new Kernel({ chooser: new InjectAtChooser(new Set([0])) });

describe('ww_mutex debug checks', () => {
  it('locking after ww_acquire_done', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const ctx = new WwAcquireCtx(k, wd);
      ctx.done();
      await a.lock(ctx);
      a.unlock();
      ctx.fini();
    });
    expect(rules(r)).toEqual(['ww_mutex.lock_after_done']);
    expect(r.splats[0]!.headline).toBe('DEBUG_LOCKS_WARN_ON(ww_ctx->done_acquire)');
  });

  it('ww_mutex_lock_slow without a preceding -EDEADLK', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const ctx = new WwAcquireCtx(k, wd);
      await a.lockSlow(ctx);
      a.unlock();
      ctx.fini();
    });
    expect(rules(r)).toEqual(['ww_mutex.slow_without_edeadlk']);
  });

  it('a correct back-off after -EDEADLK is clean', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const b = new WwMutex(k, wd, 'B');
      const ctx = new WwAcquireCtx(k, wd);
      expect(await a.lock(ctx)).toBe(0);
      expect(await b.lock(ctx)).toBe(-Errno.EDEADLK);
      a.unlock();
      await b.lockSlow(ctx);
      expect(await a.lock(ctx)).toBe(0);
      a.unlock();
      b.unlock();
      ctx.fini();
    }, injectFirst());
    expect(rules(r)).toEqual([]);
  });

  it('ww_mutex_lock_slow on a lock other than the contended one', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const b = new WwMutex(k, wd, 'B');
      const ctx = new WwAcquireCtx(k, wd);
      await a.lock(ctx);
      expect(await b.lock(ctx)).toBe(-Errno.EDEADLK);
      a.unlock();
      await a.lockSlow(ctx);
      a.unlock();
      ctx.fini();
    }, injectFirst());
    expect(rules(r)).toEqual(['ww_mutex.wrong_contended_lock']);
  });

  it('after -EDEADLK, locking a different mutex before releasing everything', async () => {
    const r = await single(async (k) => {
      const [a, b, c] = ['A', 'B', 'C'].map((n) => new WwMutex(k, wd, n));
      const ctx = new WwAcquireCtx(k, wd);
      await a!.lock(ctx);
      expect(await b!.lock(ctx)).toBe(-Errno.EDEADLK);
      expect(await c!.lock(ctx)).toBe(0);
      a!.unlock();
      c!.unlock();
      ctx.fini();
    }, injectFirst());
    expect(rules(r)).toEqual(['ww_mutex.wrong_contended_lock', 'ww_mutex.backoff_locks_held']);
  });

  it('after -EDEADLK, taking the contended lock again before releasing the others', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const b = new WwMutex(k, wd, 'B');
      const ctx = new WwAcquireCtx(k, wd, {});
      await a.lock(ctx);
      expect(await b.lock(ctx)).toBe(-Errno.EDEADLK);
      await b.lockSlow(ctx);
      a.unlock();
      b.unlock();
      ctx.fini();
    }, injectFirst());
    expect(rules(r)).toEqual(['ww_mutex.backoff_locks_held']);
  });

  it('ignoring -EDEADLK and dying again', async () => {
    const k = new Kernel({ seed: 3 });
    const [a, b, c] = ['A', 'B', 'C'].map((n) => new WwMutex(k, wd, n));
    const got: number[] = [];
    k.kthreadRun('old', async () => {
      const ctx = new WwAcquireCtx(k, wd);
      await b!.lock(ctx);
      await c!.lock(ctx);
      await msleep(k, 10);
      c!.unlock();
      b!.unlock();
      ctx.fini();
    });
    k.kthreadRun('young', async () => {
      await msleep(k, 1);
      const ctx = new WwAcquireCtx(k, wd);
      await a!.lock(ctx);
      got.push(await b!.lock(ctx));
      got.push(await c!.lock(ctx));
      a!.unlock();
      ctx.fini();
    });
    const r = await k.run();
    expect(got).toEqual([-Errno.EDEADLK, -Errno.EDEADLK]);
    expect(rules(r)).toEqual(['ww_mutex.edeadlk_not_handled']);
  });

  it('ww_acquire_fini with locks held', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const ctx = new WwAcquireCtx(k, wd);
      await a.lock(ctx);
      ctx.fini();
      a.unlock();
    });
    expect(rules(r)).toEqual(['ww_mutex.fini_with_locks_held']);
  });

  it('ww_acquire_done twice and ww_acquire_fini twice', async () => {
    const r = await single((k) => {
      const ctx = new WwAcquireCtx(k, wd);
      ctx.done();
      ctx.done();
      ctx.fini();
      ctx.fini();
    });
    expect(rules(r)).toEqual(['ww_mutex.done_twice', 'ww_mutex.fini_twice']);
  });

  it('ww_acquire_done after fini fails lockdep_assert_held', async () => {
    const r = await single((k) => {
      const ctx = new WwAcquireCtx(k, wd);
      ctx.fini();
      ctx.done();
    });
    expect(rules(r)).toEqual(['lockdep.assert_held']);
  });

  it('a mutex locked with a context of another class', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      const ctx = new WwAcquireCtx(k, other);
      await a.lock(ctx);
      a.unlock();
      ctx.fini();
    });
    expect(rules(r)).toEqual(['ww_mutex.class_mismatch']);
  });

  it('a second live context of the same class in one thread (other classes may nest)', async () => {
    const r = await single((k) => {
      const one = new WwAcquireCtx(k, wd);
      const nested = new WwAcquireCtx(k, other);
      const two = new WwAcquireCtx(k, wd);
      two.fini();
      nested.fini();
      one.fini();
      const three = new WwAcquireCtx(k, wd);
      three.fini();
    });
    expect(rules(r)).toEqual(['ww_mutex.nested_acquire_ctx']);
    expect(r.splats[0]!.headline).toBe('WARNING: possible recursive locking detected');
  });

  it('a context used after fini or by another thread', async () => {
    const k = new Kernel();
    const a = new WwMutex(k, wd, 'A');
    let shared: WwAcquireCtx | null = null;
    k.kthreadRun('owner', async () => {
      shared = new WwAcquireCtx(k, wd);
      await msleep(k, 5);
      shared.fini();
      expect(await a.lock(shared)).toBe(0);
      a.unlock();
    });
    k.kthreadRun('thief', async () => {
      await msleep(k, 1);
      expect(a.trylock(shared)).toBe(true);
      a.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['ww_mutex.ctx_not_held', 'ww_mutex.ctx_not_held']);
    expect(r.splats.map((s) => s.thread)).toEqual(['thief', 'owner']);
  });

  it('ww_mutex_destroy of a held lock, and use after destroy', async () => {
    const r = await single(async (k) => {
      const a = new WwMutex(k, wd, 'A');
      await a.lock(null);
      a.destroy();
      a.unlock();
    });
    expect(rules(r)).toEqual(['ww_mutex.destroy_locked', 'ww_mutex.use_after_destroy']);
  });

  it('ww_mutex_unlock by a thread that does not own the lock: bad unlock balance, owner WARN silent', async () => {
    const k = new Kernel();
    const a = new WwMutex(k, wd, 'A');
    k.kthreadRun('owner', async () => {
      await a.lock(null);
      await msleep(k, 5);
    });
    k.kthreadRun('other', async () => {
      await msleep(k, 1);
      a.unlock();
    });
    const r = await k.run();
    expect(rules(r)[0]).toBe('lockdep.bad_unlock_balance');
    expect(rules(r)).not.toContain('mutex.wrong_owner');
  });

  it('a thread exiting without ww_acquire_fini leaves the context held', async () => {
    const r = await single((k) => {
      new WwAcquireCtx(k, wd);
    });
    expect(rules(r)).toEqual(['lockdep.exit_with_locks']);
  });
});

describe('debug slow-path injection (CONFIG_DEBUG_WW_MUTEX_SLOWPATH)', () => {
  it('is asked only when a lock succeeds with acquired > 1, and backs off by releasing the lock', async () => {
    const chooser = new InjectAtChooser(new Set([1]));
    const k = new Kernel({ chooser });
    const [a, b, c] = ['A', 'B', 'C'].map((n) => new WwMutex(k, wd, n));
    const got: number[] = [];
    k.kthreadRun('t', async () => {
      const ctx = new WwAcquireCtx(k, wd);
      got.push(await a!.lock(ctx)); // acquired 1: not asked
      got.push(await b!.lock(ctx)); // asked (0): no
      got.push(await c!.lock(ctx)); // asked (1): injected
      expect(c!.isLocked()).toBe(false);
      expect(ctx.acquired).toBe(2);
      expect(ctx.contendingLock).toBe(c);
      a!.unlock();
      b!.unlock();
      await c!.lockSlow(ctx); // acquired 1: not asked
      got.push(await a!.lock(ctx)); // asked (2): no
      got.push(await b!.lock(ctx)); // asked (3): no
      a!.unlock();
      b!.unlock();
      c!.unlock();
      ctx.fini();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual([0, 0, -Errno.EDEADLK, 0, 0]);
    expect(chooser.sites).toEqual(['t:B', 't:C', 't:A', 't:B']);
    expect(r.schedule.decisions).toEqual([{ kind: 'ww-slowpath', label: 'inject:t:C' }]);
  });

  it('is never injected into a context initialized with noInject', async () => {
    const k = new Kernel({ faults: { 'ww-slowpath': 1 } });
    const [a, b] = ['A', 'B'].map((n) => new WwMutex(k, wd, n));
    const got: number[] = [];
    k.kthreadRun('t', async () => {
      const ctx = new WwAcquireCtx(k, wd, { noInject: true });
      got.push(await a!.lock(ctx), await b!.lock(ctx));
      a!.unlock();
      b!.unlock();
      ctx.fini();
    });
    await k.run();
    expect(got).toEqual([0, 0]);
  });

  it('at the default chooser\'s fault rate, back-off loops still finish clean and replay exactly', async () => {
    let injected = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const build = (k: Kernel, stats: BackoffStats) => {
        const locks = ['A', 'B', 'C', 'D'].map((n) => new WwMutex(k, wd, n));
        for (let t = 0; t < 3; t++) {
          k.kthreadRun(`i${t}`, async () => {
            for (let round = 0; round < 2; round++) {
              const ctx = new WwAcquireCtx(k, wd);
              const order = t % 2 ? [...locks].reverse() : locks;
              const held = await lockAll(order, ctx, stats);
              for (const l of held) l.unlock();
              ctx.fini();
            }
          });
        }
      };
      const k = new Kernel({ seed, faults: { 'ww-slowpath': 0.3 } });
      const stats = { backoffs: 0, acquisitions: 0 };
      build(k, stats);
      const r = await k.run();
      expect(r.end).toBe('completed');
      expect(rules(r)).toEqual([]);
      expect(stats.acquisitions).toBe(6);
      const n = r.schedule.decisions.filter((d) => d.kind === 'ww-slowpath').length;
      injected += n;
      expect(stats.backoffs).toBeGreaterThanOrEqual(n);
      const rk = new Kernel({ chooser: new ReplayChooser(r.schedule) });
      const rstats = { backoffs: 0, acquisitions: 0 };
      build(rk, rstats);
      const rr = await rk.run();
      expect(rr.failure).toBeNull();
      expect(rr.steps).toBe(r.steps);
      expect(rstats).toEqual(stats);
    }
    expect(injected).toBeGreaterThan(20);
  });
});
