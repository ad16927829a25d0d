import { describe, expect, it } from 'vitest';
import { Kernel, SpinLock, msleep } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';

const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

describe('spinlock', () => {
  it('spin_lock raises the preempt count; spin_lock_irq also disables IRQs', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    const seen: unknown[] = [];
    k.kthreadRun('t', (self) => {
      s.lock();
      seen.push([self.preemptCount, self.irqsDisabled, self.atomic, s.isLocked()]);
      s.unlock();
      s.lockIrq();
      seen.push([self.preemptCount, self.irqsDisabled, self.hardirqsEnabled]);
      s.unlockIrq();
      seen.push([self.preemptCount, self.irqsDisabled, self.hardirqsEnabled, self.atomic, s.isLocked()]);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen).toEqual([
      [1, 0, true, true],
      [1, 1, false],
      [0, 0, true, false, false],
    ]);
  });

  it('spin_lock_irqsave nests and restores the saved state', async () => {
    const k = new Kernel();
    const a = new SpinLock(k, 'a');
    const b = new SpinLock(k, 'b');
    const seen: number[] = [];
    k.kthreadRun('t', (self) => {
      const fa = a.lockIrqsave();
      const fb = b.lockIrqsave();
      seen.push(fa, fb, self.irqsDisabled);
      b.unlockIrqrestore(fb);
      seen.push(self.irqsDisabled);
      a.unlockIrqrestore(fa);
      seen.push(self.irqsDisabled, self.preemptCount);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen).toEqual([0, 1, 2, 1, 0, 0]);
  });

  it('spin_lock_bh disables softirqs only', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    const seen: boolean[] = [];
    k.kthreadRun('t', (self) => {
      s.lockBh();
      seen.push(self.softirqsEnabled, self.hardirqsEnabled, self.held[0]!.softirqsOn);
      s.unlockBh();
      seen.push(self.softirqsEnabled);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen).toEqual([false, true, false, true]);
  });

  it('lockdep records whether IRQs were on at acquisition', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    const seen: boolean[] = [];
    k.kthreadRun('t', (self) => {
      s.lock();
      seen.push(self.held[0]!.hardirqsOn);
      s.unlock();
      const f = s.lockIrqsave();
      seen.push(self.held[0]!.hardirqsOn);
      s.unlockIrqrestore(f);
    });
    await k.run();
    expect(seen).toEqual([true, false]);
  });

  it('trylock fails on a held lock and succeeds on a free one', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    const got: boolean[] = [];
    k.kthreadRun('t', (self) => {
      got.push(s.trylock(), s.trylock());
      expect(self.preemptCount).toBe(1);
      s.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(got).toEqual([true, false]);
  });

  it('taking a spinlock twice in one thread is spinlock recursion: the thread is killed, the run goes on', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    let after = false;
    k.kthreadRun('t', () => {
      s.lock();
      s.lock();
      after = true;
    });
    let otherRan = false;
    k.kthreadRun('other', async () => {
      await msleep(k, 1);
      otherRan = true;
    });
    const r = await k.run();
    expect(after).toBe(false);
    expect(otherRan).toBe(true);
    expect(r.exits.get('t')).toBe(-1);
    expect(rules(r)[0]).toBe('spinlock.recursion');
    expect(r.splats[0]!.headline).toMatch(/^BUG: spinlock recursion on CPU#0, t\//);
  });

  it('a holder that sleeps is reported, and a second taker is a lockup (killed)', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    k.kthreadRun('holder', async () => {
      s.lock();
      await msleep(k, 5);
      s.unlock();
    });
    k.kthreadRun('spinner', async () => {
      await msleep(k, 1);
      s.lock();
      s.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toContain('sched.might_sleep');
    expect(rules(r)).toContain('spinlock.lockup');
    const lockup = r.splats.find((x) => x.rule === 'spinlock.lockup')!;
    expect(lockup.thread).toBe('spinner');
    expect(lockup.body).toContain('.owner: holder');
    expect(r.exits.get('spinner')).toBe(-1);
  });

  it('spin_unlock of an unlocked spinlock: lockdep\'s bad unlock balance, and the spinlock debug BUG stays silent', async () => {
    const k = new Kernel();
    const s = new SpinLock(k, 's');
    k.kthreadRun('t', () => {
      s.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.bad_unlock_balance']);
  });
});
