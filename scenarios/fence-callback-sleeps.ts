/**
 * A driver's fence callback takes the driver's mutex to update its state
 * when a dependency signals. Fence callbacks run under the fence lock,
 * often from the signaller's interrupt: sleeping there is a bug
 * (`might_sleep`), and lockdep sees a sleeping lock taken in a spinlock's
 * critical section (an invalid wait context). While the mutex happens to be
 * free nothing visibly breaks, which is why such callbacks survive testing.
 *
 * The model reports both on every schedule and, as the kernel's fast path
 * would, lets the callback take the free mutex and go on.
 *
 * Expectation: `sched.might_sleep` and `lockdep.invalid_wait_context` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { DmaFence, DmaFenceCb } from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { kstruct, msleep, Mutex, SpinLock } from '../src/kernel/index.ts';

const ops: DmaFenceOps = { getDriverName: () => 'drv', getTimelineName: () => 'dep' };

export default defineScenario({
  name: 'fence-callback-sleeps',
  description: 'a fence callback takes a mutex: sleeping in atomic context, reported; the callback goes on',
  expect: { verdict: 'splat', rules: ['sched.might_sleep', 'lockdep.invalid_wait_context'] },
  setup(k, ctx) {
    const drv = kstruct(k, 'struct drv', { lock: new Mutex(k, 'drv->lock'), ready: 0 }, { name: 'drv' });
    const dep = new DmaFence(k, ops, new SpinLock(k, 'dep->lock'), 1, 1);
    k.kthreadRun('client', async () => {
      dep.addCallback(new DmaFenceCb(), () => {
        void drv.lock.lock(); // BUG: a sleeping lock in a fence callback
        drv.ready = drv.ready + 1;
        drv.lock.unlock();
      });
      await msleep(k, 1);
      await drv.lock.lock();
      ctx.note(`dependencies ready: ${drv.ready}`);
      drv.lock.unlock();
    });
    k.kthreadRun('signaller', async () => {
      await msleep(k, 1);
      dep.signal();
      dep.put();
    });
  },
});
