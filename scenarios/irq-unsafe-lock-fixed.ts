/**
 * The fix of `irq-unsafe-lock`: process context takes the lock with
 * `spin_lock_irqsave`, so the interrupt cannot arrive while it is held.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { msleep, SpinLock } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'irq-unsafe-lock-fixed',
  description: 'process context uses spin_lock_irqsave for the lock the IRQ handler takes: clean',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const ringLock = new SpinLock(k, '&ring->lock');
    let completed = 0;
    const irq = k.spawnContext('hardirq', 'irq/42-ring', () => {
      ringLock.lock();
      completed++;
      ringLock.unlock();
    });
    irq.hardirqThreaded = true; // a device IRQ handler
    k.kthreadRun('submit', async () => {
      await msleep(k, 1);
      const flags = ringLock.lockIrqsave();
      ctx.note(`completions seen by submit: ${completed}`);
      completed = 0;
      ringLock.unlockIrqrestore(flags);
    });
  },
});
