/**
 * Two threads take two mutexes in opposite orders, one after the other
 * (a completion sequences them, so the run never deadlocks). lockdep still
 * reports the inverted order: the cycle is in the lock history, it does not
 * need the bad interleaving to happen.
 *
 * Expectation: `lockdep.circular` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Completion, Mutex } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'lockdep-abba',
  description: 'two mutexes taken in opposite orders on two threads, sequenced so nothing deadlocks: lockdep reports the cycle anyway',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k) {
    const a = new Mutex(k, 'lock_a');
    const b = new Mutex(k, 'lock_b');
    const firstDone = new Completion(k, 'first_done');
    k.kthreadRun('thread_ab', async () => {
      await a.lock();
      await b.lock();
      b.unlock();
      a.unlock();
      firstDone.complete();
    });
    k.kthreadRun('thread_ba', async () => {
      await firstDone.waitForCompletion();
      await b.lock();
      await a.lock();
      a.unlock();
      b.unlock();
    });
  },
});
