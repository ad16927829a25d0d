import { describe, expect, it } from 'vitest';
import { Completion, condResched, Errno, PrngChooser } from '../../src/kernel/index.ts';
import type { ChoiceKind, Kernel } from '../../src/kernel/index.ts';
import { DmaResvUsage } from '../../src/resv/index.ts';
import {
  DRM_EXEC_IGNORE_DUPLICATES,
  DRM_EXEC_INTERRUPTIBLE_WAIT,
  DrmExec,
} from '../../src/gem/index.ts';
import type { DrmGemObject } from '../../src/gem/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { checkedKernel, determinism, mkFence, rules } from '../resv/helpers.ts';
import { bo, drmDevice } from './gem-helpers.ts';

/** Submitters each lock their own order of shared BOs with drm_exec, add a fence to each, and unlock. */
function submissions(
  k: Kernel,
  nThreads: number,
  nBos: number,
  stats: { backoffs: number; passes: number; fences: DmaFence[] },
): void {
  const dev = drmDevice(k, 'gpu');
  const bos: DrmGemObject[] = [];
  let running = nThreads;
  const done = new Completion(k, 'done');
  k.kthreadRun('setup', async () => {
    for (let i = 0; i < nBos; i++) bos.push(bo(dev));
    done.completeAll();
    await condResched(k);
  });
  for (let t = 0; t < nThreads; t++) {
    k.kthreadRun(`submit${t}`, async () => {
      await done.waitForCompletion();
      const order = bos.map((_, i) => bos[(i * (t + 1) + t) % nBos]!);
      if (t % 2) order.reverse();
      const exec = new DrmExec(k, DRM_EXEC_INTERRUPTIBLE_WAIT | DRM_EXEC_IGNORE_DUPLICATES);
      const r = await exec.untilAllLocked(async () => {
        for (const o of order) {
          const ret = await exec.prepareObj(o, 1);
          if (exec.retryOnContention()) return;
          if (ret) return ret;
          await condResched(k);
        }
      });
      expect(r).toBe(0);
      const fence = mkFence(k);
      stats.fences.push(fence);
      for (const o of exec.objects) o.resv.addFence(fence, DmaResvUsage.WRITE);
      stats.backoffs += exec.backoffs;
      stats.passes += exec.passes;
      exec.fini();
      fence.signal();
      if (--running === 0) {
        for (const o of bos) o.put();
        for (const f of stats.fences) f.put();
      }
    });
  }
}

class FailAt extends PrngChooser {
  constructor(private readonly site: string) {
    super(1);
  }

  override inject(kind: ChoiceKind, site?: string): boolean {
    return kind === 'alloc' && site === this.site;
  }
}

describe('drm_exec', () => {
  it('locks overlapping sets from several threads with back-off and retry, on many seeds', async () => {
    let backoffs = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const k = checkedKernel({ seed });
      const stats = { backoffs: 0, passes: 0, fences: [] as DmaFence[] };
      submissions(k, 4, 5, stats);
      const r = await k.run();
      expect(r.failure).toBeNull();
      expect(r.end).toBe('completed');
      expect(rules(r)).toEqual([]);
      expect(stats.fences).toHaveLength(4);
      expect(stats.passes).toBe(4 + stats.backoffs);
      backoffs += stats.backoffs;
    }
    expect(backoffs).toBeGreaterThan(0);
  });

  it('objects sharing a resv: -EALREADY without IGNORE_DUPLICATES, one lock and reservation with it', async () => {
    const k = checkedKernel();
    const results: number[] = [];
    k.kthreadRun('t', async () => {
      const dev = drmDevice(k, 'xe');
      const a = bo(dev);
      const backup = bo(dev, { parent: a });
      for (const flags of [0, DRM_EXEC_IGNORE_DUPLICATES]) {
        const exec = new DrmExec(k, flags);
        results.push(
          await exec.untilAllLocked(async () => {
            for (const o of [a, backup]) {
              const ret = await exec.prepareObj(o, 1);
              if (exec.retryOnContention()) return;
              if (ret) return ret;
            }
          }),
        );
        results.push(exec.objects.length);
        exec.fini();
        expect(a.resv.isLocked()).toBe(false);
      }
      backup.put();
      a.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(results).toEqual([-Errno.EALREADY, 1, 0, 1]);
  });

  it('a failed reservation unlocks the object again and ends the loop with the error', async () => {
    const k = checkedKernel({ chooser: new FailAt('dma_resv_reserve_fences') });
    let ret = 0;
    k.kthreadRun('t', async () => {
      const dev = drmDevice(k, 'gpu');
      const a = bo(dev);
      const exec = new DrmExec(k);
      ret = await exec.untilAllLocked(async () => {
        const r = await exec.prepareObj(a, 1);
        if (exec.retryOnContention()) return;
        return r;
      });
      expect(exec.objects).toHaveLength(0);
      expect(a.resv.isLocked()).toBe(false);
      exec.fini();
      a.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(ret).toBe(-Errno.ENOMEM);
  });

  it('replays byte for byte', async () => {
    const d = await determinism(
      (k) => {
        submissions(k, 3, 4, { backoffs: 0, passes: 0, fences: [] });
      },
      { seed: 11 },
    );
    expect(d.b).toBe(d.a);
    expect(d.replay).toBe(d.a);
  });
});
