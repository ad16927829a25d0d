/**
 * A spinlock is taken in a (threadable) device IRQ handler and, elsewhere,
 * in process context with interrupts enabled. If the interrupt arrives on
 * the CPU that holds the lock, the handler spins forever. lockdep reports
 * the inconsistent usage ({IN-HARDIRQ-W} vs {HARDIRQ-ON-W}) from the usage
 * history, without the interrupt having to hit at the bad moment.
 *
 * Expectation: `lockdep.inconsistent` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { msleep, SpinLock } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'irq-unsafe-lock',
  description: 'a spinlock taken in a hardirq handler and in process context with IRQs on: inconsistent lock state',
  expect: { verdict: 'splat', rules: ['lockdep.inconsistent'] },
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
      ringLock.lock(); // BUG: IRQs are enabled here
      ctx.note(`completions seen by submit: ${completed}`);
      completed = 0;
      ringLock.unlock();
    });
  },
});
