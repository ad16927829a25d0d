import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { Errno, Kernel, LdWait, LockdepMap, msleep, Mutex, Semaphore } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';
import { checkDeterminism } from './kernel-test-helpers.ts';

const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

describe('counting semaphore', () => {
  it('sema_init(2): two downs pass, the third sleeps until an up hands its unit over', async () => {
    const k = new Kernel();
    const sem = new Semaphore(k, 2, 'sem');
    const log: string[] = [];
    k.kthreadRun('a', async () => {
      await sem.down();
      await sem.down();
      log.push(`a has 2, count ${sem.count}`);
      await msleep(k, 5);
      sem.up();
      log.push(`a up at ${k.nowNs / 1e6} ms, count ${sem.count}`);
    });
    k.kthreadRun('b', async () => {
      await msleep(k, 1);
      await sem.down();
      log.push(`b has 1 at ${k.nowNs / 1e6} ms`);
      sem.up();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(log).toEqual(['a has 2, count 0', 'a up at 6 ms, count 0', 'b has 1 at 6 ms']);
    expect(sem.count).toBe(1);
  });

  it('down_trylock returns 0 on success and 1 when no unit is left (the inverse of spin_trylock)', async () => {
    const k = new Kernel();
    const sem = new Semaphore(k, 1);
    const got: number[] = [];
    k.kthreadRun('t', () => {
      got.push(sem.downTrylock(), sem.downTrylock());
      sem.up();
      got.push(sem.downTrylock());
    });
    await k.run();
    expect(got).toEqual([0, 1, 0]);
  });

  it('up from another task and from a hard IRQ is allowed (not owned), and may raise the count above its start', async () => {
    const k = new Kernel();
    const sem = new Semaphore(k, 0, 'event');
    const log: string[] = [];
    k.kthreadRun('waiter', async () => {
      await sem.down();
      log.push('first');
      await sem.down();
      log.push('second');
    });
    k.kthreadRun('poster', async () => {
      await msleep(k, 1);
      sem.up();
      k.spawnContext('hardirq', 'irq', () => {
        sem.up();
        sem.up();
      });
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(log).toEqual(['first', 'second']);
    expect(sem.count).toBe(1);
  });

  it('down_timeout returns -ETIME; down_interruptible returns -EINTR on a signal', async () => {
    const k = new Kernel();
    const sem = new Semaphore(k, 0);
    const got: number[] = [];
    k.kthreadRun('timeout', async () => {
      got.push(await sem.downTimeout(k.msecsToJiffies(3)));
      got.push(k.nowNs / 1e6);
    });
    const w = k.kthreadRun('intr', async () => {
      got.push(await sem.downInterruptible());
    });
    k.kthreadRun('signaller', async () => {
      await msleep(k, 10);
      k.sendSignal(w);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual([-Errno.ETIME, 3, -Errno.EINTR]);
    expect(sem.waiters).toEqual([]);
  });

  it('down with nothing to take and nobody to up it is a deadlock naming the last holder', async () => {
    const k = new Kernel();
    const sem = new Semaphore(k, 1, 'console_sem');
    k.kthreadRun('holder', async () => {
      await sem.down();
    });
    k.kthreadRun('waiter', async () => {
      await msleep(k, 1);
      await sem.down();
    });
    const r = await k.run();
    expect(r.end).toBe('deadlock');
    expect(r.splats[0]!.body).toContain('semaphore console_sem (last held by holder)');
  });

  it('down may sleep: calling it under a spinlock is a might_sleep splat', async () => {
    const { SpinLock } = await import('../../src/kernel/index.ts');
    const k = new Kernel();
    const sem = new Semaphore(k, 1);
    const s = new SpinLock(k, 's');
    k.kthreadRun('t', async () => {
      s.lock();
      await sem.down();
      s.unlock();
      sem.up();
    });
    const r = await k.run();
    expect(rules(r)).toContain('sched.might_sleep');
  });

  it('replays identically', async () => {
    const c = await checkDeterminism((k) => {
      const sem = new Semaphore(k, 1, 'sem');
      for (const n of ['a', 'b', 'c']) {
        k.kthreadRun(n, async () => {
          for (let i = 0; i < 3; i++) {
            await sem.down();
            await msleep(k, 1);
            sem.up();
          }
        });
      }
    });
    expect(c.result.splats).toEqual([]);
    expect(c.again).toBe(c.hash);
    expect(c.replayHash).toBe(c.hash);
  });
});

/** The console_lock() pattern: down(&console_sem) then mutex_acquire(&console_lock_dep_map). */
function consoleLock(k: Kernel): Semaphore {
  const map = new LockdepMap('console_lock', 'console_lock', LdWait.SLEEP, LdWait.FREE);
  return new Semaphore(k, 1, 'console_sem', { lockdep: map });
}

describe('a semaphore with a lockdep map (the console_lock pattern)', () => {
  it('down acquires the map and up releases it; no semaphore is tracked without one', async () => {
    const k = createCheckedKernel({ priming: false });
    const plain = new Semaphore(k, 1);
    const con = consoleLock(k);
    const depths: number[] = [];
    k.kthreadRun('t', async (self) => {
      await plain.down();
      depths.push(self.held.length);
      plain.up();
      await con.down();
      depths.push(self.held.length);
      con.up();
      if (con.downTrylock() === 0) {
        depths.push(self.held.at(-1)!.trylock ? 1 : 0);
        con.up();
      }
      depths.push(self.held.length);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(depths).toEqual([0, 1, 1, 0]);
  });

  it('console_lock -> M here and M -> console_lock there is a circular dependency', async () => {
    const k = createCheckedKernel({ priming: false });
    const con = consoleLock(k);
    const m = new Mutex(k, 'fb_lock');
    k.kthreadRun('printk', async () => {
      await con.down();
      await m.lock();
      m.unlock();
      con.up();
      await m.lock();
      await con.down();
      con.up();
      m.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.circular']);
  });

  it('an up from another task is lockdep\'s bad unlock balance (the map is task-bound, the semaphore is not)', async () => {
    const k = createCheckedKernel({ priming: false });
    const con = consoleLock(k);
    k.kthreadRun('a', async () => {
      await con.down();
      await msleep(k, 2);
    });
    k.kthreadRun('b', async () => {
      await msleep(k, 1);
      con.up();
    });
    const r = await k.run();
    expect(rules(r)).toContain('lockdep.bad_unlock_balance');
    expect(con.count).toBe(1);
  });
});
