/**
 * IRQ usage states: inconsistent lock state (hardirq and softirq), IRQ-safe
 * → IRQ-unsafe order when an edge is added, and irq inversion when a class
 * changes state; the usage notation.
 */
import { describe, expect, it } from 'vitest';
import { lockdepOf } from '../../src/check/index.ts';
import type { Lockdep } from '../../src/check/index.ts';
import { Completion, SpinLock, TimerList } from '../../src/kernel/index.ts';
import { rulesOf, runChecked, splatsOf } from './helpers.ts';

describe('inconsistent lock state', () => {
  it('reports IN-HARDIRQ-W then HARDIRQ-ON-W', async () => {
    const r = await runChecked((k) => {
      const x = new SpinLock(k, 'X');
      const done = new Completion(k);
      const irq = k.spawnContext('hardirq', 'irq', () => {
        x.lock();
        x.unlock();
        done.complete();
      });
      irq.hardirqThreaded = true;
      k.kthreadRun('t', async () => {
        await done.waitForCompletion();
        x.lock();
        x.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.');
    expect(r.splats[0]!.body).toContain('<Interrupt>');
  });

  it('reports HARDIRQ-ON-W then IN-HARDIRQ-W', async () => {
    const r = await runChecked((k) => {
      const x = new SpinLock(k, 'X');
      k.kthreadRun('t', () => {
        x.lock();
        x.unlock();
        const irq = k.spawnContext('hardirq', 'irq', () => {
          x.lock();
          x.unlock();
        });
        irq.hardirqThreaded = true;
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.');
  });

  it('reports a lock taken in a timer (softirq) and with softirqs enabled', async () => {
    const r = await runChecked((k) => {
      const x = new SpinLock(k, 'X');
      const timer = new TimerList(k, () => {
        x.lock();
        x.unlock();
      }, 'watchdog');
      k.kthreadRun('t', () => {
        x.lock();
        x.unlock();
        timer.modTimer(k.jiffies + 1);
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('{SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W}');
  });

  it('is clean when process context uses spin_lock_bh for a lock a timer takes', async () => {
    const r = await runChecked((k) => {
      const x = new SpinLock(k, 'X');
      const timer = new TimerList(k, () => {
        x.lock();
        x.unlock();
      }, 'watchdog');
      k.kthreadRun('t', () => {
        x.lockBh();
        x.unlockBh();
        timer.modTimer(k.jiffies + 1);
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });
});

describe('IRQ-safe to IRQ-unsafe dependencies', () => {
  it('reports HARDIRQ-safe -> HARDIRQ-unsafe when the edge is added', async () => {
    const r = await runChecked((k) => {
      const safe = new SpinLock(k, 'fence_lock');
      const unsafe = new SpinLock(k, 'xa_lock');
      const irqDone = new Completion(k);
      k.kthreadRun('a', () => {
        unsafe.lock(); // IRQs on: xa_lock becomes HARDIRQ-unsafe
        unsafe.unlock();
        const irq = k.spawnContext('hardirq', 'irq', () => {
          safe.lock(); // fence_lock becomes HARDIRQ-safe
          safe.unlock();
          irqDone.complete();
        });
        irq.hardirqThreaded = true;
      });
      k.kthreadRun('b', async () => {
        await irqDone.waitForCompletion();
        const flags = safe.lockIrqsave();
        unsafe.lock(); // fence callback taking xa_lock under fence_lock
        unsafe.unlock();
        safe.unlockIrqrestore(flags);
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.safe_to_unsafe']);
    const s = splatsOf(r, 'lockdep.safe_to_unsafe')[0]!;
    expect(s.headline).toBe('WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected');
    expect(s.body).toContain('Possible interrupt unsafe locking scenario');
    expect(s.data!.safe).toMatchObject({ class: 'fence_lock' });
    expect(s.data!.unsafe).toMatchObject({ class: 'xa_lock' });
  });

  it('reports an irq inversion when a class becomes IRQ-safe after the dependency exists', async () => {
    const r = await runChecked((k) => {
      const safe = new SpinLock(k, 'fence_lock');
      const unsafe = new SpinLock(k, 'xa_lock');
      k.kthreadRun('a', () => {
        const flags = safe.lockIrqsave();
        unsafe.lock();
        unsafe.unlock();
        safe.unlockIrqrestore(flags);
        unsafe.lock(); // IRQs on
        unsafe.unlock();
        const irq = k.spawnContext('hardirq', 'irq', () => {
          safe.lock(); // now HARDIRQ-safe: it took an unsafe lock in the past
          safe.unlock();
        });
        irq.hardirqThreaded = true;
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.irq_inversion']);
    const s = r.splats[0]!;
    expect(s.body).toContain('but this lock took another, HARDIRQ-unsafe lock in the past');
  });

  it('reports an irq inversion when a class becomes IRQ-unsafe after the dependency exists', async () => {
    const r = await runChecked((k) => {
      const safe = new SpinLock(k, 'fence_lock');
      const unsafe = new SpinLock(k, 'xa_lock');
      const irqDone = new Completion(k);
      k.kthreadRun('a', async () => {
        const irq = k.spawnContext('hardirq', 'irq', () => {
          safe.lock();
          safe.unlock();
          irqDone.complete();
        });
        irq.hardirqThreaded = true;
        await irqDone.waitForCompletion();
        const flags = safe.lockIrqsave();
        unsafe.lock();
        unsafe.unlock();
        safe.unlockIrqrestore(flags);
        unsafe.lock(); // IRQs on: becomes unsafe, taken by a safe lock in the past
        unsafe.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.irq_inversion']);
    expect(r.splats[0]!.body).toContain('but this lock was taken by another, HARDIRQ-safe lock in the past');
  });

  it('prints the usage notation of each class', async () => {
    let ld: Lockdep | null = null;
    await runChecked((k) => {
      ld = lockdepOf(k);
      const inIrq = new SpinLock(k, 'in_irq');
      const both = new SpinLock(k, 'both');
      k.kthreadRun('t', () => {
        const f = inIrq.lockIrqsave();
        inIrq.unlockIrqrestore(f);
        const irq = k.spawnContext('hardirq', 'irq', () => {
          inIrq.lock();
          inIrq.unlock();
        });
        irq.hardirqThreaded = true;
        both.lock();
        both.unlock();
      });
    });
    const g = ld!.graph;
    expect(ld!.label(g.classes.find((c) => c.name === 'in_irq')!)).toBe('(in_irq){-...}-{3:3}');
    expect(ld!.label(g.classes.find((c) => c.name === 'both')!)).toBe('(both){+.+.}-{3:3}');
  });
});
