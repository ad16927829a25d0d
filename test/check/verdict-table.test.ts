/**
 * The verdict table of reference section 3.12 (canonical GPU scenarios,
 * with dma_resv priming and PROVE_LOCKING): one test per row, each with
 * exactly that verdict (the set of rule ids reported, nothing else).
 */
import { describe, expect, it } from 'vitest';
import {
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMapOf,
  dmaFenceMightWait,
  lockdepOf,
  reclaimContext,
  registerShrinker,
  runShrinkers,
} from '../../src/check/index.ts';
import type { LockdepGraph } from '../../src/check/index.ts';
import {
  defineWdClass,
  fsReclaimAcquire,
  fsReclaimRelease,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOFS,
  GFP_NOWAIT,
  kmalloc,
  memallocNofsRestore,
  memallocNofsSave,
  mightAlloc,
  mmuNotifierConfig,
  Mutex,
  SpinLock,
  WwAcquireCtx,
  WwMutex,
} from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import { allocOrderedWorkqueue, initWork, queueWork, taintReclaimWorkqueue } from '../../src/kernel/workqueue.ts';
import { rulesOf, runChecked } from './helpers.ts';

/** The resv layer's ww class: lockdep keys reservation_ww_class_acquire / _mutex. */
const reservationWwClass = defineWdClass('reservation_ww_class');

async function verdict(setup: (k: Kernel) => void, opts: { graph?: LockdepGraph } = {}): Promise<string[]> {
  return [...new Set(rulesOf(await runChecked(setup, opts)))].sort();
}

describe('verdict table (reference 3.12)', () => {
  it('row 1: kmalloc(GFP_KERNEL) inside a signalling section is a circular dependency', async () => {
    const v = await verdict((k) => {
      k.kthreadRun('t', () => {
        const c = dmaFenceBeginSignalling(k);
        kmalloc(k, 64, GFP_KERNEL);
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 2: GFP_NOFS inside a signalling section is a circular dependency via the MMU-notifier map', async () => {
    const v = await verdict((k) => {
      k.kthreadRun('t', () => {
        const c = dmaFenceBeginSignalling(k);
        kmalloc(k, 64, GFP_NOFS);
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 2 (without CONFIG_MMU_NOTIFIER): GFP_NOFS inside a signalling section is clean', async () => {
    const v = await verdict((k) => {
      mmuNotifierConfig.set(k, false);
      k.kthreadRun('t', () => {
        const c = dmaFenceBeginSignalling(k);
        kmalloc(k, 64, GFP_NOFS);
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual([]);
  });

  it('row 3: GFP_ATOMIC and GFP_NOWAIT inside a signalling section are clean', async () => {
    const v = await verdict((k) => {
      k.kthreadRun('t', () => {
        const c = dmaFenceBeginSignalling(k);
        kmalloc(k, 64, GFP_ATOMIC);
        kmalloc(k, 64, GFP_NOWAIT);
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual([]);
  });

  it('row 4: dma_resv_lock inside a signalling section is a circular dependency', async () => {
    const v = await verdict((k) => {
      const obj = new WwMutex(k, reservationWwClass, '&obj->lock');
      k.kthreadRun('t', async () => {
        const c = dmaFenceBeginSignalling(k);
        const ctx = new WwAcquireCtx(k, reservationWwClass);
        await obj.lock(ctx);
        obj.unlock();
        ctx.fini();
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 4 (no acquire context): dma_resv_lock(obj, NULL) inside a signalling section is a circular dependency', async () => {
    const v = await verdict((k) => {
      const obj = new WwMutex(k, reservationWwClass, '&obj->lock');
      k.kthreadRun('t', async () => {
        const c = dmaFenceBeginSignalling(k);
        await obj.lock(null);
        obj.unlock();
        dmaFenceEndSignalling(k, c);
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 5: dma_fence_wait while holding a dma_resv lock is clean', async () => {
    const v = await verdict((k) => {
      const obj = new WwMutex(k, reservationWwClass, '&obj->lock');
      k.kthreadRun('t', async () => {
        const ctx = new WwAcquireCtx(k, reservationWwClass);
        await obj.lock(ctx);
        dmaFenceMightWait(k);
        obj.unlock();
        ctx.fini();
      });
    });
    expect(v).toEqual([]);
  });

  it('row 6: mutex L taken in a signalling section and held across a fence wait elsewhere is a circular dependency', async () => {
    const v = await verdict((k) => {
      const l = new Mutex(k, 'L');
      k.kthreadRun('signaller', async () => {
        const c = dmaFenceBeginSignalling(k);
        await l.lock();
        l.unlock();
        dmaFenceEndSignalling(k, c);
      });
      k.kthreadRun('waiter', async () => {
        await l.lock();
        dmaFenceMightWait(k);
        l.unlock();
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 7: dma_fence_signal from a device IRQ or with a spinlock held makes no annotation', async () => {
    let irqCookie: boolean | null = null;
    let lockedCookie: boolean | null = null;
    const v = await verdict((k) => {
      const fenceLock = new SpinLock(k, '&fence->lock');
      const irq = k.spawnContext('hardirq', 'irq/30-gpu', () => {
        irqCookie = dmaFenceBeginSignalling(k);
        expect(k.lockIsHeld(dmaFenceMapOf(k))).toBe(false);
        fenceLock.lock();
        fenceLock.unlock();
        dmaFenceEndSignalling(k, irqCookie);
      });
      irq.hardirqThreaded = true;
      k.kthreadRun('t', () => {
        const flags = fenceLock.lockIrqsave();
        lockedCookie = dmaFenceBeginSignalling(k);
        dmaFenceEndSignalling(k, lockedCookie);
        fenceLock.unlockIrqrestore(flags);
      });
    });
    expect(v).toEqual([]);
    expect(irqCookie).toBe(true);
    expect(lockedCookie).toBe(true);
  });

  it('row 7 (caveat): signalling from a non-threaded hard IRQ takes a spinlock_t in an invalid wait context', async () => {
    const v = await verdict((k) => {
      const fenceLock = new SpinLock(k, '&fence->lock');
      const hrtimer = k.spawnContext('hardirq', 'hrtimer:hard', () => {
        const c = dmaFenceBeginSignalling(k);
        fenceLock.lock();
        fenceLock.unlock();
        dmaFenceEndSignalling(k, c);
      });
      hrtimer.hardirqThreaded = false;
    });
    expect(v).toEqual(['lockdep.invalid_wait_context']);
  });

  it('row 8: waiting on an already-signalled fence while holding L, L taken in a signalling section, is a circular dependency', async () => {
    const v = await verdict((k) => {
      const l = new Mutex(k, 'L');
      k.kthreadRun('signaller', async () => {
        const c = dmaFenceBeginSignalling(k);
        await l.lock();
        l.unlock();
        dmaFenceEndSignalling(k, c);
      });
      k.kthreadRun('waiter', async () => {
        await l.lock();
        // dma_fence_wait on a signalled fence: the annotation comes before the state check.
        dmaFenceMightWait(k);
        l.unlock();
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 9: nested begin_signalling acquires nothing more', async () => {
    let depths: number[] = [];
    let cookies: boolean[] = [];
    const v = await verdict((k) => {
      k.kthreadRun('t', (t) => {
        const outer = dmaFenceBeginSignalling(k);
        const d1 = t.held.length;
        const inner = dmaFenceBeginSignalling(k);
        depths = [d1, t.held.length];
        cookies = [outer, inner];
        dmaFenceEndSignalling(k, inner);
        dmaFenceEndSignalling(k, outer);
      });
    });
    expect(v).toEqual([]);
    expect(depths).toEqual([1, 1]);
    expect(cookies).toEqual([false, true]);
  });

  it('row 10: might_alloc(GFP_KERNEL) inside fs_reclaim_acquire(GFP_KERNEL) is recursive locking of fs_reclaim', async () => {
    const r = await runChecked((k) => {
      k.kthreadRun('t', () => {
        fsReclaimAcquire(k, GFP_KERNEL);
        mightAlloc(k, GFP_KERNEL);
        fsReclaimRelease(k, GFP_KERNEL);
      });
    });
    expect([...new Set(rulesOf(r))]).toEqual(['lockdep.recursive']);
    expect(r.splats[0]!.body).toContain('(fs_reclaim)');
  });

  it('row 11: the same inside a memalloc_nofs_save scope is clean', async () => {
    const v = await verdict((k) => {
      k.kthreadRun('t', () => {
        fsReclaimAcquire(k, GFP_KERNEL);
        const cookie = memallocNofsSave(k);
        mightAlloc(k, GFP_KERNEL);
        memallocNofsRestore(k, cookie);
        fsReclaimRelease(k, GFP_KERNEL);
      });
    });
    expect(v).toEqual([]);
  });

  it('row 12: with the reclaim taint, a GFP_KERNEL allocation in run_job is a circular dependency', async () => {
    const v = await verdict((k) => {
      const submitWq = allocOrderedWorkqueue(k, 'drm_sched_submit');
      const runJob = initWork(k, () => {
        kmalloc(k, 128, GFP_KERNEL);
      }, 'drm_sched_run_job_work');
      k.kthreadRun('drm_sched_init', () => {
        taintReclaimWorkqueue(submitWq, GFP_KERNEL);
        queueWork(submitWq, runJob);
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 12 (without the taint): the same allocation in run_job is clean', async () => {
    const v = await verdict((k) => {
      const submitWq = allocOrderedWorkqueue(k, 'drm_sched_submit');
      const runJob = initWork(k, () => {
        kmalloc(k, 128, GFP_KERNEL);
      }, 'drm_sched_run_job_work');
      k.kthreadRun('drm_sched_init', () => {
        queueWork(submitWq, runJob);
      });
    });
    expect(v).toEqual([]);
  });

  it('row 13: a shrinker taking L while elsewhere L is held around kmalloc(GFP_KERNEL) is a circular dependency', async () => {
    const v = await verdict((k) => {
      const l = new Mutex(k, '&dev->lru_lock');
      registerShrinker(k, {
        name: 'bo_shrinker',
        countObjects: () => 1,
        scanObjects: async () => {
          await l.lock();
          l.unlock();
          return 1;
        },
      });
      k.kthreadRun('kswapd', async () => {
        await runShrinkers(k, GFP_KERNEL);
      });
      k.kthreadRun('alloc', async () => {
        await l.lock();
        kmalloc(k, 64, GFP_KERNEL);
        l.unlock();
      });
    });
    expect(v).toEqual(['lockdep.circular']);
  });

  it('row 14: a shrinker trylocking dma_resv records no edge into resv', async () => {
    let graph: LockdepGraph | null = null;
    const v = await verdict((k) => {
      const obj = new WwMutex(k, reservationWwClass, '&obj->lock');
      graph = lockdepOf(k)!.graph;
      k.kthreadRun('kswapd', () => {
        reclaimContext(k, GFP_KERNEL, () => {
          if (obj.trylock(null)) {
            dmaFenceMightWait(k); // waiting for the BO's fences is allowed in reclaim
            obj.unlock();
          }
        });
      });
    });
    expect(v).toEqual([]);
    const g = graph!;
    const fs = g.findClass('fs_reclaim')!;
    const resv = g.findClass('reservation_ww_class_mutex')!;
    expect(g.edge(fs, resv)).toBeUndefined();
  });

  it('row 15: two ww mutexes of one class under one acquire context are clean (nest_lock)', async () => {
    const v = await verdict((k) => {
      const a = new WwMutex(k, reservationWwClass, '&bo_a->resv');
      const b = new WwMutex(k, reservationWwClass, '&bo_b->resv');
      k.kthreadRun('t', async () => {
        const ctx = new WwAcquireCtx(k, reservationWwClass);
        await a.lock(ctx);
        await b.lock(ctx);
        b.unlock();
        a.unlock();
        ctx.fini();
      });
    });
    expect(v).toEqual([]);
  });

  it('row 16: two ww mutexes of one class without a context are recursive locking', async () => {
    const v = await verdict((k) => {
      const a = new WwMutex(k, reservationWwClass, '&bo_a->resv');
      const b = new WwMutex(k, reservationWwClass, '&bo_b->resv');
      k.kthreadRun('t', async () => {
        await a.lock(null);
        await b.lock(null);
        b.unlock();
        a.unlock();
      });
    });
    expect(v).toEqual(['lockdep.recursive']);
  });

  it('row 17: a mutex under a spinlock is an invalid wait context (and might_sleep)', async () => {
    const v = await verdict((k) => {
      const s = new SpinLock(k, 'S');
      const m = new Mutex(k, 'M');
      k.kthreadRun('t', async () => {
        s.lock();
        await m.lock(); // sleeps in atomic context
        m.unlock();
        s.unlock();
      });
    });
    expect(v).toEqual(['lockdep.invalid_wait_context', 'sched.might_sleep']);
  });

  it('row 18: a lock taken in a fence callback (IRQ) and elsewhere with IRQs on is inconsistent lock state', async () => {
    const v = await verdict((k) => {
      const x = new SpinLock(k, 'X');
      const irq = k.spawnContext('hardirq', 'irq/30-gpu', () => {
        // dma_fence_signal → callback → takes X
        x.lock();
        x.unlock();
      });
      irq.hardirqThreaded = true;
      k.kthreadRun('t', () => {
        x.lock();
        x.unlock();
      });
    });
    expect(v).toEqual(['lockdep.inconsistent']);
  });
});
