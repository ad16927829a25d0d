import { describe, expect, it } from 'vitest';
import { DmaResvUsage } from '../../src/resv/index.ts';
import { drmGemCollectImplicitDeps, drmGemUniqueResvs } from '../../src/gem/index.ts';
import type { DrmGemObject } from '../../src/gem/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { checkedKernel, mkFence, rules } from '../resv/helpers.ts';
import { bo, drmDevice } from './gem-helpers.ts';

/** Xe's fixed `xe_bo_evict_pinned`: one reservation, one KERNEL fence, per resv. */
async function evictPinned(obj: DrmGemObject, backup: DrmGemObject, copy: DmaFence): Promise<void> {
  const resvs = drmGemUniqueResvs([obj, backup]);
  for (const r of resvs) await r.lock(null);
  for (const r of resvs) {
    expect(r.reserveFences(1)).toBe(0);
    r.addFence(copy, DmaResvUsage.KERNEL);
  }
  for (const r of resvs) r.unlock();
}

describe('objects sharing one reservation object', () => {
  it('a BO and its backup take one fence slot and one KERNEL fence for an eviction', async () => {
    const k = checkedKernel();
    k.kthreadRun('xe', async () => {
      const dev = drmDevice(k, 'xe');
      const vram = bo(dev);
      const backup = bo(dev, { parent: vram });
      expect(backup.resv).toBe(vram.resv);
      expect(drmGemUniqueResvs([vram, backup])).toEqual([vram.resv]);
      const copy = mkFence(k);
      await evictPinned(vram, backup, copy);
      expect(vram.resv.entries()).toEqual([{ fence: copy, usage: DmaResvUsage.KERNEL }]);
      // One slot was reserved and consumed; nothing left over after the unlock.
      expect(vram.resv.fences!.numFences).toBe(1);
      expect(vram.resv.fences!.maxFences).toBe(1);
      // Fences added through either object are seen through both; locking one locks the other.
      await backup.resv.lock(null);
      expect(vram.resv.isLocked()).toBe(true);
      expect(vram.resv.held()).toBe(true);
      backup.resv.unlock();
      copy.signal();
      copy.put();
      backup.put();
      vram.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('dependencies are collected once per resv: distinct resvs give both, a shared resv gives one', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const dev = drmDevice(k, 'xe');
      const src = bo(dev);
      const dst = bo(dev);
      const child = bo(dev, { parent: src });
      const fs = new Map<DrmGemObject, DmaFence>();
      for (const o of [src, dst]) {
        const f = mkFence(k);
        fs.set(o, f);
        await o.resv.lock(null);
        o.resv.reserveFences(1);
        o.resv.addFence(f, DmaResvUsage.WRITE);
        o.resv.unlock();
      }
      const distinct = drmGemCollectImplicitDeps([src, dst], true) as DmaFence[];
      expect(distinct).toEqual([fs.get(src), fs.get(dst)]);
      const shared = drmGemCollectImplicitDeps([src, child], true) as DmaFence[];
      expect(shared).toEqual([fs.get(src)]);
      for (const f of [...distinct, ...shared]) f.put();
      for (const f of fs.values()) {
        f.signal();
        f.put();
      }
      for (const o of [child, dst, src]) o.put();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('a child keeps its parent (and the shared resv) alive when the parent is dropped first', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const dev = drmDevice(k, 'rust-shmem');
      const parent = bo(dev);
      expect(parent.refcount.read()).toBe(1);
      const child = bo(dev, { parent });
      expect(parent.refcount.read()).toBe(2);
      expect(child.sharesResv).toBe(true);
      parent.put();
      expect(parent.freed).toBe(false);
      expect(child.resv.dead).toBe(false);
      const f = mkFence(k);
      await child.resv.lock(null);
      child.resv.reserveFences(1);
      child.resv.addFence(f, DmaResvUsage.READ);
      child.resv.unlock();
      f.signal();
      f.put();
      child.put();
      expect(parent.freed).toBe(true);
      expect(parent.resv.dead).toBe(true);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
  });

  it('without the parent reference, the shared resv would be finalized under the child', async () => {
    const k = checkedKernel();
    k.kthreadRun('t', async () => {
      const dev = drmDevice(k, 'buggy');
      const parent = bo(dev);
      // The bug the owned parent reference prevents: share the resv without holding the parent.
      const child = bo(dev, { resv: parent.resv });
      parent.put();
      await child.resv.lock(null);
      child.resv.unlock();
      child.put();
    });
    const r = await k.run();
    // With KASAN on (checked kernels) the use is a slab-use-after-free naming dma_resv_fini; without, resv.use_after_fini.
    expect(rules(r)).toContain('kasan.slab_use_after_free');
    expect(r.splats.find((s) => s.rule === 'kasan.slab_use_after_free')!.body).toContain('dma_resv_fini');
  });
});
