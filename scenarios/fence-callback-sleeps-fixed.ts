/**
 * The fixed twin of `fence-callback-sleeps`: the fence callback only queues
 * a work item; the work item, in process context, takes the mutex.
 *
 * Expectation: clean on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { DmaFence, DmaFenceCb } from '../src/fence/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { flushWork, kstruct, msleep, Mutex, scheduleWork, SpinLock, WorkStruct } from '../src/kernel/index.ts';

const ops: DmaFenceOps = { getDriverName: () => 'drv', getTimelineName: () => 'dep' };

export default defineScenario({
  name: 'fence-callback-sleeps-fixed',
  description: 'a fence callback queues a work item; the work item takes the mutex',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const drv = kstruct(k, 'struct drv', { lock: new Mutex(k, 'drv->lock'), ready: 0 }, { name: 'drv' });
    const dep = new DmaFence(k, ops, new SpinLock(k, 'dep->lock'), 1, 1);
    const work = new WorkStruct(k, async () => {
      await drv.lock.lock();
      drv.ready = drv.ready + 1;
      drv.lock.unlock();
    }, 'drv_dep_work');
    k.kthreadRun('client', async () => {
      const mine = dep.get();
      mine.addCallback(new DmaFenceCb(), () => {
        scheduleWork(work);
      });
      await msleep(k, 1);
      await mine.wait(false);
      mine.put();
      await flushWork(work);
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
