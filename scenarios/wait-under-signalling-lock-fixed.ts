/**
 * The fix of `wait-under-signalling-lock`: the waiter drops the mutex
 * before waiting for the fence, so nothing that a signalling section takes
 * is held across a fence wait.
 *
 * Expectation: clean.
 */
import { dmaFenceBeginSignalling, dmaFenceEndSignalling, dmaFenceMightWait } from '../src/check/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { Completion, Mutex } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'wait-under-signalling-lock-fixed',
  description: 'the mutex is released before the fence wait: clean',
  expect: { verdict: 'clean' },
  setup(k) {
    const vmLock = new Mutex(k, '&vm->lock');
    const waited = new Completion(k, 'waited');
    k.kthreadRun('waiter', async () => {
      await vmLock.lock();
      vmLock.unlock();
      dmaFenceMightWait(k); // dma_fence_wait(fence), no lock held
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
