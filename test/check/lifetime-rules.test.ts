/**
 * The rules that came with the race detector and KASAN: fences freed with
 * callbacks queued are poisoned, fences put or released before init, the
 * unwrap-merge invariants, locks held on return to user space, waits that
 * never end naming their fences, scheduler jobs after free_job, resv after
 * fini, ww acquire contexts after fini.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import {
  checkUnwrapMergeResult,
  DmaFence,
  dmaFenceArrayAlloc,
  dmaFenceArrayCreate,
  DmaFenceCb,
  dmaFenceContextAlloc,
  dmaFenceRelease,
  dmaFenceSetSignaller,
  dmaFenceUnwrapMerge,
  registerDevice,
  UserProcess,
} from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { msleep, Mutex, SpinLock, WwAcquireCtx } from '../../src/kernel/index.ts';
import type { Kernel, RunResult } from '../../src/kernel/index.ts';
import { DmaResv, DmaResvUsage, reservationWwClass } from '../../src/resv/index.ts';
import { DrmMockScheduler } from '../../src/sched/index.ts';

const ops: DmaFenceOps = { getDriverName: () => 'drv', getTimelineName: () => 'tl' };

async function run(body: (k: Kernel) => void | Promise<void>, opts: { maxTimeMs?: number } = {}): Promise<RunResult> {
  const k = createCheckedKernel({ seed: 1, ...(opts.maxTimeMs ? { limits: { maxVirtualTimeNs: opts.maxTimeMs * 1e6 } } : {}) });
  k.kthreadRun('t', async () => {
    await body(k);
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message);
  return r;
}

const rules = (r: RunResult): string[] => r.splats.filter((s) => s.severity !== 'info').map((s) => s.rule);

describe('fence lifetimes', () => {
  it('a fence released with callbacks queued is poisoned: a later use is a KASAN report, not a refcount warning', async () => {
    const r = await run((k) => {
      const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 1, 1);
      f.addCallback(new DmaFenceCb(), () => {});
      f.put();
      f.signal();
    });
    expect(rules(r)).toEqual(['fence.released_with_pending_signals', 'kasan.slab_use_after_free']);
    const s = r.splats[1]!;
    expect(s.headline).toBe('BUG: KASAN: slab-use-after-free in dma_fence_signal');
    expect(s.body).toContain('dma_fence_init');
    expect(s.body).toContain('dma_fence_release');
  });

  it('a put of an allocated, never initialised container is a refcount underflow and does nothing', async () => {
    let released = false;
    const r = await run((k) => {
      const a = dmaFenceArrayAlloc(k, 2)!;
      a.put();
      released = a.refcount.read() === 0;
    });
    // The allocation is never freed either: kmemleak sees it at the end.
    expect(rules(r)).toEqual(['fence.put_uninitialized', 'lifetime.leak']);
    expect(r.splats[0]!.headline).toBe('refcount_t: underflow; use-after-free.');
    expect(released).toBe(false);
  });

  it('releasing a fence that was never initialised is a NULL ops dereference', async () => {
    const r = await run((k) => {
      dmaFenceRelease(dmaFenceArrayAlloc(k, 1)!);
    });
    expect(rules(r)).toEqual(['fence.release_uninitialized', 'lifetime.leak']);
  });
});

describe('dma_fence_unwrap_merge invariants', () => {
  it('a correct merge passes the check', async () => {
    const r = await run((k) => {
      const c = dmaFenceContextAlloc(k, 2);
      const lock = new SpinLock(k, 'l');
      const f = [new DmaFence(k, ops, lock, c, 1), new DmaFence(k, ops, lock, c, 2), new DmaFence(k, ops, lock, c + 1, 1)];
      const m = dmaFenceUnwrapMerge(k, ...f)!;
      for (const x of [m, ...f]) x.put();
    });
    expect(rules(r)).toEqual([]);
  });

  it('a result keeping two fences of one context, or an older one, is reported', async () => {
    const r = await run((k) => {
      const c = dmaFenceContextAlloc(k, 1);
      const lock = new SpinLock(k, 'l');
      const older = new DmaFence(k, ops, lock, c, 1);
      const newer = new DmaFence(k, ops, lock, c, 2);
      const bad = dmaFenceArrayCreate(k, 2, [older.get(), newer.get()], dmaFenceContextAlloc(k, 1), 1, false)!;
      expect(checkUnwrapMergeResult(k, [older, newer], bad)).toBe(false);
      expect(checkUnwrapMergeResult(k, [older, newer], older)).toBe(false);
      expect(checkUnwrapMergeResult(k, [older, newer], newer)).toBe(true);
      for (const x of [bad, older, newer]) x.put();
    });
    expect(rules(r)).toEqual(['fence.unwrap_merge_invariant', 'fence.unwrap_merge_invariant']);
    expect(r.splats[0]!.body).toContain('appears more than once');
    expect(r.splats[1]!.body).toContain('not the latest pending 2');
  });
});

describe('locks held on return to user space', () => {
  it('an ioctl that returns with a mutex or an acquire context held is reported', async () => {
    const r = await run(async (k) => {
      const m = new Mutex(k, 'dev->lock');
      let ctx: WwAcquireCtx | null = null;
      registerDevice('/dev/leaky', () => ({
        fileType: 'leaky',
        ioctl: async (_c, req) => {
          if (req === 'LOCK') await m.lock();
          else ctx = new WwAcquireCtx(k, reservationWwClass);
          return 0;
        },
      }), k);
      const p = new UserProcess(k, 'app');
      const fd = p.open('/dev/leaky');
      await p.ioctl(fd, 'LOCK');
      await p.ioctl(fd, 'CTX');
      m.unlock();
      ctx!.fini();
    });
    expect(rules(r)).toEqual(['lockdep.held_on_return_to_user', 'lockdep.held_on_return_to_user']);
    expect(r.splats[0]!.headline).toBe('WARNING: lock held when returning to user space!');
    expect(r.splats[0]!.body).toContain('(dev->lock)');
    expect(r.splats[1]!.body).toContain('ww_acquire_fini() was not called');
  });
});

describe('waits that never end name their fences', () => {
  it('a run stopped at its limit names the fence, its expected signaller and its last event', async () => {
    const r = await run(
      async (k) => {
        const f = new DmaFence(k, ops, new SpinLock(k, 'l'), 9, 4);
        const ticker = k.kthreadRun('ticker', async () => {
          for (;;) await msleep(k, 1);
        });
        dmaFenceSetSignaller(f, ticker);
        await f.wait(false);
      },
      { maxTimeMs: 20 },
    );
    const lim = r.splats.find((s) => s.rule === 'run.limit')!;
    expect(lim.body).toContain('t waits in dma_fence_default_wait on dma_fence drv:tl:9:4');
    expect(lim.body).toContain('context 9 seqno 4: expected signaller ticker (declared signaller); last event: waited on by t');
  });

  it('a deadlock on a scheduler job names the job and what it waits for', async () => {
    const k = createCheckedKernel({ seed: 1 });
    const sched = new DrmMockScheduler(k);
    k.kthreadRun('client', async () => {
      const e = sched.entityNew();
      const job = sched.jobNew(e, 0); // completes only when advanced: never
      DrmMockScheduler.submit(job);
      await job.finished.wait(false);
    });
    const r = await k.run();
    const d = r.splats.find((s) => s.rule === 'sched.deadlock')!;
    expect(d.body).toMatch(/expected signaller drm_sched drm-mock-scheduler, job fence \d+:1 \(running: hardware fence \d+:1 not signalled\)/);
  });
});

describe('objects freed by the model are poisoned', () => {
  it('a dma_resv waited on or locked after dma_resv_fini is a KASAN use after free', async () => {
    const r = await run(async (k) => {
      const resv = new DmaResv(k, 'bo');
      resv.fini();
      await resv.waitTimeout(DmaResvUsage.READ, false, 10);
      await resv.lock(null);
      resv.unlock();
    });
    expect(r.splats.find((s) => s.rule === 'kasan.slab_use_after_free')!.headline).toBe('BUG: KASAN: slab-use-after-free in dma_resv_wait_timeout');
    expect(rules(r)).toContain('kasan.slab_use_after_free');
    expect(r.splats.find((s) => s.rule === 'kasan.slab_use_after_free')!.body).toContain('dma_resv_fini');
  });

  it('a ww_acquire_ctx used after ww_acquire_fini is a KASAN use after free', async () => {
    const r = await run(async (k) => {
      const resv = new DmaResv(k, 'bo');
      const ctx = new WwAcquireCtx(k, reservationWwClass);
      ctx.fini();
      await resv.lock(ctx);
      resv.unlock();
    });
    expect(rules(r)).toContain('kasan.slab_use_after_free');
  });

  it('a job pushed after free_job freed it is a KASAN use after free', async () => {
    const k = createCheckedKernel({ seed: 1 });
    const sched = new DrmMockScheduler(k);
    k.kthreadRun('client', async () => {
      const e = sched.entityNew();
      const job = sched.jobNew(e, 100);
      DrmMockScheduler.submit(job);
      const f = job.finished.get();
      await f.wait(false);
      await msleep(k, 1);
      job.touch('drm_sched_job_arm', true);
      f.put();
      await e.destroy();
    });
    const r = await k.run();
    expect(rules(r)).toEqual(['kasan.slab_use_after_free']);
    expect(r.splats[0]!.body).toContain('Freed by task');
    expect(r.splats[0]!.body).toContain('free_job');
  });
});
