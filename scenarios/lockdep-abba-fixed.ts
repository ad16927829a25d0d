/**
 * The fix of `lockdep-abba`: both threads take the two mutexes in the same
 * order (a before b), so there is no cycle, whatever the interleaving.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Mutex } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'lockdep-abba-fixed',
  description: 'two threads take two mutexes in one consistent order: clean',
  expect: { verdict: 'clean' },
  setup(k) {
    const a = new Mutex(k, 'lock_a');
    const b = new Mutex(k, 'lock_b');
    for (const name of ['thread_ab', 'thread_ab2']) {
      k.kthreadRun(name, async () => {
        await a.lock();
        await b.lock();
        b.unlock();
        a.unlock();
      });
    }
  },
});
