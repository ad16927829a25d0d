import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import { Kernel, msleep, readLockIsRecursive, RwLock, setForceReadLockRecursive } from '../../src/kernel/index.ts';
import type { RunResult, Thread } from '../../src/kernel/index.ts';

const rules = (r: RunResult): string[] => r.splats.map((s) => s.rule);

describe('rwlock_t', () => {
  it('readers share it, a writer excludes them; holding it is atomic', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    const seen: unknown[] = [];
    k.kthreadRun('t', (self: Thread) => {
      rw.readLock();
      rw.readLock();
      seen.push([rw.readers, self.preemptCount, self.atomic, rw.writeTrylock(), rw.readTrylock()]);
      rw.readUnlock();
      rw.readUnlock();
      rw.readUnlock();
      seen.push([rw.readers, rw.writeTrylock(), rw.readTrylock(), self.preemptCount]);
      rw.writeUnlock();
      seen.push([rw.isLocked(), self.preemptCount]);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen).toEqual([
      [2, 2, true, false, true],
      [0, true, false, 1],
      [false, 0],
    ]);
  });

  it('the _irq, _irqsave and _bh forms disable and restore interrupts / bottom halves', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    const seen: unknown[] = [];
    k.kthreadRun('t', (self: Thread) => {
      rw.readLockIrq();
      seen.push(['rirq', self.hardirqsEnabled]);
      rw.readUnlockIrq();
      const f = rw.writeLockIrqsave();
      seen.push(['wsave', f, self.hardirqsEnabled]);
      rw.writeUnlockIrqrestore(f);
      rw.readLockBh();
      seen.push(['rbh', self.softirqsEnabled, self.bhDisabled]);
      rw.readUnlockBh();
      rw.writeLockBh();
      rw.writeUnlockBh();
      rw.writeLockIrq();
      rw.writeUnlockIrq();
      const g = rw.readLockIrqsave();
      rw.readUnlockIrqrestore(g);
      seen.push(['end', self.hardirqsEnabled, self.softirqsEnabled, self.preemptCount]);
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(seen).toEqual([
      ['rirq', false],
      ['wsave', 0, false],
      ['rbh', false, 1],
      ['end', true, true, 0],
    ]);
  });

  it('write_lock twice on one rwlock is "BUG: rwlock recursion" and the thread is killed', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('t', () => {
      rw.writeLock();
      rw.writeLock();
    });
    const r = await k.run();
    expect(rules(r)).toContain('rwlock.recursion');
    expect(r.exits.get('t')).toBe(-1);
  });

  it('write_lock while holding it for reading spins forever: a lockup, the thread is killed', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('t', () => {
      rw.readLock();
      rw.writeLock();
    });
    const r = await k.run();
    expect(rules(r)).toContain('rwlock.lockup');
    expect(r.splats.find((s) => s.rule === 'rwlock.lockup')!.body).toContain('spins on a lock it holds itself');
  });

  it('a reader meeting a writer that slept holding the lock: might_sleep, then a lockup', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('writer', async () => {
      rw.writeLock();
      await msleep(k, 2);
      rw.writeUnlock();
    });
    k.kthreadRun('reader', async () => {
      await msleep(k, 1);
      rw.readLock();
      rw.readUnlock();
    });
    const r = await k.run();
    expect(rules(r)).toContain('sched.might_sleep');
    expect(rules(r)).toContain('rwlock.lockup');
    expect(r.exits.get('reader')).toBe(-1);
  });

  it('double read_unlock and write_unlock of an unlocked rwlock are lockdep bad unlock balances, the rwlock debug BUG silent', async () => {
    const k = new Kernel();
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('t', () => {
      rw.readLock();
      rw.readUnlock();
      rw.readUnlock();
      rw.writeUnlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.bad_unlock_balance', 'lockdep.bad_unlock_balance']);
  });

  it('read_lock_is_recursive: off by default in process context, on in interrupt context, with bottom halves off, or forced', async () => {
    const k = new Kernel();
    const seen: boolean[] = [];
    k.kthreadRun('t', (self: Thread) => {
      seen.push(readLockIsRecursive(k, self));
      self.bhDisabled++;
      seen.push(readLockIsRecursive(k, self));
      self.bhDisabled--;
      k.spawnContext('hardirq', 'irq', (irq: Thread) => {
        seen.push(readLockIsRecursive(k, irq));
        setForceReadLockRecursive(k, true);
        k.kthreadRun('later', (t2: Thread) => {
          seen.push(readLockIsRecursive(k, t2));
        });
      });
    });
    await k.run();
    expect(seen).toEqual([false, true, true, true]);
  });

  it('lockdep records readers as read = 1 in process context and read = 2 with bottom halves off', async () => {
    const k = createCheckedKernel({ priming: false });
    const rw = new RwLock(k, 'rw');
    const reads: number[] = [];
    k.kthreadRun('t', (self: Thread) => {
      rw.readLock();
      reads.push(self.held.at(-1)!.read);
      rw.readUnlock();
      rw.readLockBh();
      reads.push(self.held.at(-1)!.read);
      rw.readUnlockBh();
      rw.writeLock();
      reads.push(self.held.at(-1)!.read);
      rw.writeUnlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual([]);
    expect(reads).toEqual([1, 2, 0]);
  });

  it('read_lock twice on one class in process context is recursive locking (queued rwlocks), as a real kernel reports', async () => {
    const k = createCheckedKernel({ priming: false });
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('t', () => {
      rw.readLock();
      rw.readLock();
      rw.readUnlock();
      rw.readUnlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.recursive']);
    expect(r.splats[0]!.headline).toBe('WARNING: possible recursive locking detected');
  });

  it('a reader in a hard IRQ and a writer with IRQs on: inconsistent lock state', async () => {
    const k = createCheckedKernel({ priming: false });
    const rw = new RwLock(k, 'tasklist_lock');
    k.kthreadRun('t', () => {
      rw.writeLock();
      rw.writeUnlock();
      const irq = k.spawnContext('hardirq', 'irq', () => {
        rw.readLock();
        rw.readUnlock();
      });
      irq.hardirqThreaded = true;
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('{HARDIRQ-ON-W} -> {IN-HARDIRQ-R}');
  });

  it('rwlock_t has the spinlock_t wait type: taking it under a raw spinlock is an invalid wait context', async () => {
    const { SpinLock } = await import('../../src/kernel/index.ts');
    const k = createCheckedKernel({ priming: false });
    const raw = new SpinLock(k, 'raw', { raw: true });
    const rw = new RwLock(k, 'rw');
    k.kthreadRun('t', () => {
      raw.lock();
      rw.readLock();
      rw.readUnlock();
      raw.unlock();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['lockdep.invalid_wait_context']);
  });
});
