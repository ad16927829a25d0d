/**
 * One thread waits for a fence while holding a driver mutex; another takes
 * the same mutex inside a fence signalling section. If the waited fence can
 * only be signalled by that section, the two deadlock. lockdep sees it from
 * the annotations alone (fence waits take `dma_fence_map` exclusively,
 * signalling sections hold it as a reader): the cycle
 * `mutex → dma_fence_map → mutex`. The wait is `dmaFenceMightWait`, the
 * annotation every fence wait makes before looking at the fence, so the
 * report does not depend on the fence being unsignalled.
 *
 * Expectation: `lockdep.circular` on every seed.
 */
import { dmaFenceBeginSignalling, dmaFenceEndSignalling, dmaFenceMightWait } from '../src/check/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { Completion, Mutex } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'wait-under-signalling-lock',
  description: 'a mutex held across a fence wait and taken inside a signalling section: mutex → dma_fence_map → mutex',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k) {
    const vmLock = new Mutex(k, '&vm->lock');
    const waited = new Completion(k, 'waited');
    k.kthreadRun('waiter', async () => {
      await vmLock.lock();
      dmaFenceMightWait(k); // dma_fence_wait(fence) with vm->lock held
      vmLock.unlock();
      waited.complete();
    });
    k.kthreadRun('signaller', async () => {
      await waited.waitForCompletion();
      const cookie = dmaFenceBeginSignalling(k);
      await vmLock.lock();
      vmLock.unlock();
      dmaFenceEndSignalling(k, cookie);
    });
  },
});
