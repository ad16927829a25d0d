/**
 * Two threads take two plain mutexes in opposite orders (the classic ABBA).
 * Whether the run deadlocks depends on the interleaving: on some seeds each
 * thread gets its first mutex before the other releases, and the deadlock
 * report names both threads and both mutexes.
 *
 * Expectation: `sched.deadlock` on some seeds. With lockdep installed every
 * seed also reports `lockdep.circular` (the inverted order is visible from
 * the lock history alone); a splat expectation lists the rules that must
 * appear, and others may appear too, so this expectation stays right.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Mutex, msleep } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'mutex-abba',
  description: 'two threads take two mutexes in opposite orders; some seeds deadlock',
  expect: { verdict: 'splat', rules: ['sched.deadlock'], seeds: 'some' },
  setup(k) {
    const a = new Mutex(k, 'lock_a');
    const b = new Mutex(k, 'lock_b');
    k.kthreadRun('thread_ab', async () => {
      await a.lock();
      await msleep(k, 1);
      await b.lock();
      b.unlock();
      a.unlock();
    });
    k.kthreadRun('thread_ba', async () => {
      await b.lock();
      await a.lock();
      a.unlock();
      b.unlock();
    });
  },
});
