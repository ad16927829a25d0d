/**
 * Recursive locking, lock nesting annotations (subclasses, nest locks,
 * lockdep_set_class), and lockdep's other per-acquisition checks.
 */
import { describe, expect, it } from 'vitest';
import { lockdepSetClass } from '../../src/check/index.ts';
import { Mutex, SpinLock } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { rulesOf, runChecked } from './helpers.ts';

/** Two mutexes from one creation site share a class, like locks from one mutex_init line. */
function twoFromOneSite(k: Kernel): Mutex[] {
  return ['parent', 'child'].map((n) => new Mutex(k, n));
}

describe('recursive locking', () => {
  it('reports two locks of one class nested without annotation', async () => {
    const r = await runChecked((k) => {
      const [a, b] = twoFromOneSite(k);
      k.kthreadRun('t', async () => {
        await a!.lock();
        await b!.lock();
        b!.unlock();
        a!.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.recursive']);
    expect(r.splats[0]!.body).toContain('May be due to missing lock nesting notation');
  });

  it('accepts mutex_lock_nested with a subclass', async () => {
    const r = await runChecked((k) => {
      const [a, b] = twoFromOneSite(k);
      k.kthreadRun('t', async () => {
        await a!.lock();
        await b!.lockNested(1);
        b!.unlock();
        a!.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('accepts locks moved to their own class with lockdep_set_class', async () => {
    const r = await runChecked((k) => {
      const [a, b] = twoFromOneSite(k);
      lockdepSetClass(b!, 'child_class', '&child->lock');
      k.kthreadRun('t', async () => {
        await a!.lock();
        await b!.lock();
        b!.unlock();
        a!.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('accepts many locks of one class under their nest lock', async () => {
    const r = await runChecked((k) => {
      const outer = new Mutex(k, 'outer');
      const locks = [0, 1, 2].map((i) => new Mutex(k, `obj${i}`));
      k.kthreadRun('t', async () => {
        await outer.lock();
        for (const l of locks) await l.lockNestLock(outer.dep);
        for (const l of locks) l.unlock();
        outer.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('reports a nest-locked acquisition whose nest lock is not held', async () => {
    const r = await runChecked((k) => {
      const outer = new Mutex(k, 'outer');
      const l = new Mutex(k, 'obj');
      k.kthreadRun('t', async () => {
        await l.lockNestLock(outer.dep);
        l.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.nested_lock_not_taken']);
    expect(r.splats[0]!.headline).toBe('WARNING: Nested lock was not taken');
  });

  it('reports taking the same spinlock twice (lockdep, then the spinlock debug BUG)', async () => {
    const r = await runChecked((k) => {
      const s = new SpinLock(k, 'S');
      k.kthreadRun('t', () => {
        s.lock();
        s.lock();
      });
    });
    // BUG() kills the thread, which then exits holding the first acquisition.
    expect(rulesOf(r)).toEqual(['lockdep.recursive', 'spinlock.recursion', 'lockdep.exit_with_locks']);
  });

  it('reports an invalid subclass', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      k.kthreadRun('t', async () => {
        await m.lockNested(8);
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.invalid_subclass']);
  });
});
