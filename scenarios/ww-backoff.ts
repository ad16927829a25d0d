import { defineScenario } from '../src/scenario/index.ts';
import { Errno, WwAcquireCtx, WwMutex, condResched, defineWdClass, defineWwClass, msleep } from '../src/kernel/index.ts';
import type { Kernel, WwClass } from '../src/kernel/index.ts';

/** Threads per class, locks per class, transactions per thread. */
const THREADS = 3;
const LOCKS = 4;
const ROUNDS = 3;

/** One Wait-Die class (like `reservation_ww_class`) and one Wound-Wait class. */
const waitDie = defineWdClass('backoff_wd_class');
const woundWait = defineWwClass('backoff_ww_class');

/**
 * Lock every object of `wanted` under `ctx` with the documented back-off for a
 * re-orderable list (Documentation/locking/ww-mutex-design.rst, method 2): on
 * -EDEADLK unlock everything, `ww_mutex_lock_slow` the contended lock, move it
 * to the head of the list and start over, skipping it once.
 */
async function lockObjects(k: Kernel, wanted: WwMutex[], ctx: WwAcquireCtx): Promise<number> {
  const list = [...wanted];
  let slowLocked: WwMutex | null = null;
  let backoffs = 0;
  for (;;) {
    let contended: WwMutex | null = null;
    const held: WwMutex[] = slowLocked ? [slowLocked] : [];
    for (const obj of list) {
      if (obj === slowLocked) continue;
      const ret = await obj.lock(ctx);
      if (ret === -Errno.EDEADLK) {
        contended = obj;
        break;
      }
      if (ret !== 0) throw new Error(`ww_mutex_lock(${obj.dep.name}) returned ${ret}`);
      held.push(obj);
    }
    if (!contended) return backoffs;
    backoffs++;
    for (const obj of held) obj.unlock();
    await contended.lockSlow(ctx);
    slowLocked = contended;
    list.splice(list.indexOf(contended), 1);
    list.unshift(contended);
    await condResched(k);
  }
}

function spawnGroup(k: Kernel, cls: WwClass, counters: { backoffs: number; commits: number }): void {
  const locks = Array.from({ length: LOCKS }, (_, i) => new WwMutex(k, cls, `${cls.waitDie ? 'wd' : 'ww'}_obj${i}`));
  // Shared state that only a thread holding every lock may touch.
  let inside = 0;
  for (let n = 0; n < THREADS; n++) {
    // Each thread walks the objects in its own order: rotated, and reversed for odd threads.
    const order = locks.map((_, i) => locks[(i + n) % LOCKS]!);
    if (n % 2 === 1) order.reverse();
    k.kthreadRun(`${cls.waitDie ? 'wd' : 'ww'}-${n}`, async (self) => {
      for (let round = 0; round < ROUNDS; round++) {
        const ctx = new WwAcquireCtx(k, cls);
        const backoffs = await lockObjects(k, order, ctx);
        counters.backoffs += backoffs;
        ctx.done();
        for (const l of locks) {
          if (l.owner !== self) throw new Error(`${self.name} finished locking but does not own ${l.dep.name}`);
        }
        if (++inside !== 1) throw new Error('two transactions inside at once');
        await msleep(k, 1);
        inside--;
        counters.commits++;
        for (const l of order) l.unlock();
        ctx.fini();
        await condResched(k);
      }
    });
  }
}

/**
 * Several threads lock the same ww_mutexes in different orders under acquire
 * contexts, under both algorithms, and back off correctly (unlock all,
 * lockSlow the contended lock, retry). Debug slow-path injection is on, so
 * back-offs also happen without real contention. Every seed runs clean.
 */
export default defineScenario({
  name: 'ww-backoff',
  description:
    'Threads lock the same ww_mutexes in different orders under acquire contexts (Wait-Die and Wound-Wait classes) and back off correctly on -EDEADLK: clean.',
  expect: { verdict: 'clean' },
  kernel: { faults: { 'ww-slowpath': 0.05 } },
  setup(k, ctx) {
    const counters = { backoffs: 0, commits: 0 };
    spawnGroup(k, waitDie, counters);
    spawnGroup(k, woundWait, counters);
    k.addEndCheck(() => {
      ctx.note(`${counters.commits} transactions committed, ${counters.backoffs} back-offs`);
    });
  },
});
