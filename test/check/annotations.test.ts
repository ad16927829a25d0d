/**
 * lockdep annotations: might_lock, the assert family, held lock freed,
 * reclaim contexts and shrinkers, signalling sections.
 */
import { describe, expect, it } from 'vitest';
import {
  debugCheckNoLocksFreed,
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMapOf,
  dmaFenceMightWait,
  lockdepAssertHeld,
  lockdepAssertHeldRead,
  lockdepAssertHeldWrite,
  lockdepAssertNoneHeldOnce,
  lockdepAssertNotHeld,
  lockdepIsHeld,
  mightLock,
  reclaimContext,
  registerShrinker,
  runShrinkers,
} from '../../src/check/index.ts';
import { GFP_KERNEL, GFP_NOFS, kmalloc, Mutex, reclaimMapsOf, RwSemaphore } from '../../src/kernel/index.ts';
import { rulesOf, runChecked } from './helpers.ts';

describe('might_lock', () => {
  it('records the dependency without taking the lock', async () => {
    const r = await runChecked((k) => {
      const a = new Mutex(k, 'A');
      const b = new Mutex(k, 'B');
      k.kthreadRun('t1', async () => {
        await a.lock();
        mightLock(k, b); // a path that usually skips B
        a.unlock();
        await b.lock();
        await a.lock();
        a.unlock();
        b.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
  });
});

describe('lockdep_assert_held family', () => {
  it('warns exactly when the lock is not held in the asked mode', async () => {
    const seen: boolean[] = [];
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      const rw = new RwSemaphore(k, 'RW');
      k.kthreadRun('t', async () => {
        lockdepAssertHeld(k, m); // warn 1
        await m.lock();
        lockdepAssertHeld(k, m);
        lockdepAssertNotHeld(k, m); // warn 2
        seen.push(lockdepIsHeld(k, m));
        m.unlock();
        lockdepAssertNotHeld(k, m);
        await rw.downRead();
        lockdepAssertHeldRead(k, rw);
        lockdepAssertHeldWrite(k, rw); // warn 3
        rw.upRead();
        seen.push(lockdepIsHeld(k, rw));
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.assert_held', 'lockdep.assert_not_held', 'lockdep.assert_held']);
    expect(seen).toEqual([true, false]);
  });

  it('lockdep_assert_none_held_once warns once per thread', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      k.kthreadRun('t', async () => {
        lockdepAssertNoneHeldOnce(k);
        await m.lock();
        lockdepAssertNoneHeldOnce(k);
        lockdepAssertNoneHeldOnce(k);
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.assert_none_held']);
  });
});

describe('held lock freed', () => {
  it('reports freeing an object whose lock the thread holds', async () => {
    const r = await runChecked((k) => {
      const obj = { lock: new Mutex(k, '&obj->lock') };
      k.kthreadRun('t', async () => {
        await obj.lock.lock();
        debugCheckNoLocksFreed(k, 'obj', [obj.lock]);
        obj.lock.unlock();
        debugCheckNoLocksFreed(k, 'obj', [obj.lock]);
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.held_lock_freed']);
    expect(r.splats[0]!.headline).toBe('WARNING: held lock freed!');
  });
});

describe('reclaim context and shrinkers', () => {
  it('holds fs_reclaim (GFP_KERNEL) and sets PF_MEMALLOC inside, and undoes both after', async () => {
    const inside: [boolean, boolean][] = [];
    const after: [boolean, boolean][] = [];
    const r = await runChecked((k) => {
      k.kthreadRun('t', async (t) => {
        const { fsReclaim } = reclaimMapsOf(k);
        reclaimContext(k, GFP_KERNEL, () => {
          inside.push([k.lockIsHeld(fsReclaim), t.inReclaim]);
          kmalloc(k, 8, GFP_KERNEL); // PF_MEMALLOC: no recursion into reclaim
        });
        after.push([k.lockIsHeld(fsReclaim), t.inReclaim]);
        await reclaimContext(k, GFP_NOFS, async () => {
          inside.push([k.lockIsHeld(fsReclaim), t.inReclaim]);
          await Promise.resolve();
        });
        after.push([k.lockIsHeld(fsReclaim), t.inReclaim]);
      });
    });
    expect(rulesOf(r)).toEqual([]);
    expect(inside).toEqual([[true, true], [false, true]]);
    expect(after).toEqual([[false, false], [false, false]]);
  });

  it('runs every shrinker with something to free and sums what they freed', async () => {
    let freed = -1;
    const r = await runChecked((k) => {
      registerShrinker(k, { name: 'empty', countObjects: () => 0, scanObjects: () => 100 });
      registerShrinker(k, { name: 'a', countObjects: () => 3, scanObjects: (sc) => Math.min(3, sc.nrToScan) });
      registerShrinker(k, {
        name: 'waits',
        countObjects: () => 1,
        scanObjects: () => {
          dmaFenceMightWait(k); // shrinkers may wait on fences
          return 1;
        },
      });
      k.kthreadRun('kswapd', async () => {
        freed = await runShrinkers(k, GFP_KERNEL);
      });
    });
    expect(rulesOf(r)).toEqual([]);
    expect(freed).toBe(4);
  });
});

describe('signalling annotations', () => {
  it('a fence wait inside a signalling section drops and restores the reader hold', async () => {
    const states: number[] = [];
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      k.kthreadRun('t', async (t) => {
        const map = dmaFenceMapOf(k);
        const c = dmaFenceBeginSignalling(k);
        await m.lock();
        dmaFenceMightWait(k);
        states.push(t.held.filter((h) => h.map === map && h.read === 1).length);
        m.unlock();
        dmaFenceEndSignalling(k, c);
        states.push(t.held.length);
      });
    });
    // M is held across the wait: M → dma_fence_map, and M was taken in the section.
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(states).toEqual([1, 0]);
  });

  it('holding a lock when a signalling section starts records no dependency (read trylock)', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'M');
      k.kthreadRun('t', async () => {
        await m.lock();
        const c = dmaFenceBeginSignalling(k);
        dmaFenceEndSignalling(k, c);
        m.unlock();
        const c2 = dmaFenceBeginSignalling(k);
        kmalloc(k, 8, 0); // nothing
        dmaFenceEndSignalling(k, c2);
        await m.lock();
        dmaFenceMightWait(k);
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });
});
