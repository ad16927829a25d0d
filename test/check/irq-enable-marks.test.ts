/**
 * Regression tests for lockdep's view of interrupts being re-enabled while
 * locks are held (`mark_held_locks` from `trace_hardirqs_on` and
 * `lockdep_softirqs_on`), and for `__local_bh_enable_ip` called with hard
 * IRQs disabled. Both were differences between the model and a real 6.17
 * lockdep found by running the same lock programs on both.
 */
import { describe, expect, it } from 'vitest';
import {
  Completion,
  localBhDisable,
  localBhEnable,
  localIrqDisable,
  localIrqEnable,
  localIrqRestore,
  localIrqSave,
  RwLock,
  SpinLock,
} from '../../src/kernel/index.ts';
import type { Kernel, Thread } from '../../src/kernel/index.ts';
import { rulesOf, runChecked, splatsOf } from './helpers.ts';

/** Run `body` in a threaded hard IRQ (or a softirq) and wait for it. */
async function inContext(k: Kernel, kind: 'hardirq' | 'softirq', body: () => void): Promise<void> {
  const done = new Completion(k, 'ctx-done');
  const c = k.spawnContext(kind, kind === 'hardirq' ? 'irq/9-dev' : 'softirq', () => {
    body();
    done.complete();
  });
  c.hardirqThreaded = true;
  await done.waitForCompletion();
}

describe('trace_hardirqs_on: re-enabling IRQs marks every held lock HARDIRQ-ON (mark_held_locks)', () => {
  it('spin_lock_irqsave(A); spin_lock(B); spin_unlock_irqrestore(A) makes B HARDIRQ-ON: inconsistent with B in a hard IRQ', async () => {
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        const flags = a.lockIrqsave();
        b.lock(); // IRQs off: no HARDIRQ-ON usage yet
        a.unlockIrqrestore(flags); // IRQs back on with B still held
        b.unlock();
        await inContext(k, 'hardirq', () => {
          b.lock();
          b.unlock();
        });
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.');
  });

  it('the other order: B used in a hard IRQ first, then IRQs re-enabled while B is held', async () => {
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        await inContext(k, 'hardirq', () => {
          b.lock();
          b.unlock();
        });
        const flags = a.lockIrqsave();
        b.lock();
        a.unlockIrqrestore(flags); // the marking is reported here, before B is released
        b.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.');
  });

  it('local_irq_enable and local_irq_restore mark the held locks too', async () => {
    for (const how of ['enable', 'restore'] as const) {
      const r = await runChecked((k) => {
        const b = new SpinLock(k, 'B');
        k.kthreadRun('driver', async () => {
          await inContext(k, 'hardirq', () => {
            b.lock();
            b.unlock();
          });
          if (how === 'enable') {
            localIrqDisable(k);
            b.lock();
            localIrqEnable(k);
          } else {
            const flags = localIrqSave(k);
            b.lock();
            localIrqRestore(k, flags);
          }
          b.unlock();
        });
      });
      expect(rulesOf(r), how).toEqual(['lockdep.inconsistent']);
    }
  });

  it('keeping IRQs off until the lock is released is clean', async () => {
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        await inContext(k, 'hardirq', () => {
          b.lock();
          b.unlock();
        });
        const flags = a.lockIrqsave();
        b.lock();
        b.unlock();
        a.unlockIrqrestore(flags);
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('a reader held across the enable becomes HARDIRQ-ON-R; a writer in a hard IRQ then conflicts', async () => {
    const r = await runChecked((k) => {
      const rw = new RwLock(k, 'rw');
      k.kthreadRun('driver', async () => {
        localIrqDisable(k);
        rw.readLock();
        localIrqEnable(k);
        rw.readUnlock();
        await inContext(k, 'hardirq', () => {
          rw.writeLock();
          rw.writeUnlock();
        });
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('{HARDIRQ-ON-R} -> {IN-HARDIRQ-W}');
  });

  it('re-enabling IRQs with a lock held links it to IRQ-safe classes through existing edges (irq inversion)', async () => {
    const r = await runChecked((k) => {
      const safe = new SpinLock(k, 'safe');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        await inContext(k, 'hardirq', () => {
          safe.lock();
          safe.unlock();
        });
        // safe -> B with IRQs off: no report yet, B is not IRQ-unsafe.
        const f = safe.lockIrqsave();
        b.lock();
        b.unlock();
        safe.unlockIrqrestore(f);
        // B becomes HARDIRQ-ON through mark_held_locks.
        localIrqDisable(k);
        b.lock();
        localIrqEnable(k);
        b.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.irq_inversion']);
  });
});

describe('lockdep_softirqs_on: re-enabling bottom halves marks held locks SOFTIRQ-ON', () => {
  it('local_bh_disable(); spin_lock(B); local_bh_enable() with B taken in a timer (softirq): inconsistent', async () => {
    const r = await runChecked((k) => {
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        await inContext(k, 'softirq', () => {
          b.lock();
          b.unlock();
        });
        localBhDisable(k);
        b.lock();
        localBhEnable(k);
        b.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
    expect(r.splats[0]!.body).toContain('{IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W}');
  });

  it('spin_unlock_bh of another lock does the same', async () => {
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', async () => {
        await inContext(k, 'softirq', () => {
          b.lock();
          b.unlock();
        });
        a.lockBh();
        b.lock();
        a.unlockBh();
        b.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.inconsistent']);
  });
});

describe('__local_bh_enable_ip with hard IRQs disabled', () => {
  it('local_bh_enable with IRQs disabled WARNs once (lockdep_assert_irqs_enabled) and continues with IRQs enabled', async () => {
    const seen: boolean[] = [];
    const r = await runChecked((k) => {
      k.kthreadRun('driver', (self: Thread) => {
        for (let i = 0; i < 2; i++) {
          const flags = localIrqSave(k);
          localBhDisable(k);
          localBhEnable(k);
          seen.push(self.hardirqsEnabled);
          localIrqRestore(k, flags);
        }
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.assert_irqs_enabled']);
    expect(r.splats[0]!.headline).toContain('__local_bh_enable_ip');
    expect(seen).toEqual([true, true]);
  });

  it('spin_unlock_bh inside spin_lock_irqsave WARNs and enables IRQs under the irqsave section', async () => {
    const seen: boolean[] = [];
    const r = await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      const b = new SpinLock(k, 'B');
      k.kthreadRun('driver', (self: Thread) => {
        b.lockBh();
        const flags = a.lockIrqsave();
        b.unlockBh(); // BUG: bottom halves re-enabled with IRQs off
        seen.push(self.hardirqsEnabled);
        a.unlockIrqrestore(flags);
      });
    });
    expect(splatsOf(r, 'lockdep.assert_irqs_enabled')).toHaveLength(1);
    expect(seen).toEqual([true]);
  });

  it('without lockdep (no CONFIG_TRACE_IRQFLAGS) nothing is reported and IRQs stay disabled', async () => {
    const seen: boolean[] = [];
    const r = await runChecked((k) => {
      k.kthreadRun('driver', (self: Thread) => {
        const flags = localIrqSave(k);
        localBhDisable(k);
        localBhEnable(k);
        seen.push(self.hardirqsEnabled);
        localIrqRestore(k, flags);
      });
    }, { lockdep: false });
    expect(rulesOf(r)).toEqual([]);
    expect(seen).toEqual([false]);
  });
});

describe('spin_unlock_irq is local_irq_enable', () => {
  it('leaves IRQs enabled even inside an outer local_irq_disable section', async () => {
    const seen: boolean[] = [];
    await runChecked((k) => {
      const a = new SpinLock(k, 'A');
      k.kthreadRun('driver', (self: Thread) => {
        localIrqDisable(k);
        a.lockIrq();
        a.unlockIrq();
        seen.push(self.hardirqsEnabled);
      });
    });
    expect(seen).toEqual([true]);
  });
});
