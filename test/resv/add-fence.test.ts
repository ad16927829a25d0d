import { describe, expect, it } from 'vitest';
import { DmaResv, DmaResvUsage } from '../../src/resv/index.ts';
import { dmaFenceArrayCreate, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import { mkFence, rules, runOne } from './helpers.ts';

const { KERNEL, WRITE, READ, BOOKKEEP } = DmaResvUsage;

describe('dma_resv_add_fence replacement rules', () => {
  it('a later fence of the same context replaces the entry in place and drops the old reference', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const ctx = dmaFenceContextAlloc(k, 1);
      const other = mkFence(k);
      const f1 = mkFence(k, ctx, 1);
      const f2 = mkFence(k, ctx, 2);
      await resv.lock(null);
      resv.reserveFences(2);
      resv.addFence(f1, WRITE);
      resv.addFence(other, READ);
      expect(f1.refcount.read()).toBe(2);
      resv.reserveFences(1);
      resv.addFence(f2, WRITE);
      expect(resv.entries().map((e) => e.fence)).toEqual([f2, other]);
      expect(f1.refcount.read()).toBe(1);
      // An earlier fence of the context does not replace the later one: it is appended.
      const f0 = mkFence(k, ctx, 0);
      resv.reserveFences(1);
      resv.addFence(f0, WRITE);
      expect(resv.entries().map((e) => e.fence)).toEqual([f2, other, f0]);
      resv.unlock();
      for (const f of [other, f0, f1, f2]) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
    expect(rules(r)).toEqual([]);
  });

  it('re-adding with a stronger usage promotes in place; a weaker usage appends (never demotes)', async () => {
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      const f = mkFence(k);
      await resv.lock(null);
      resv.reserveFences(3);
      resv.addFence(f, BOOKKEEP);
      resv.addFence(f, WRITE);
      expect(resv.entries()).toEqual([{ fence: f, usage: WRITE }]);
      resv.addFence(f, READ);
      expect(resv.entries()).toEqual([
        { fence: f, usage: WRITE },
        { fence: f, usage: READ },
      ]);
      resv.addFence(f, KERNEL);
      expect(resv.entries()[0]).toEqual({ fence: f, usage: KERNEL });
      resv.unlock();
      f.signal();
      f.put();
      resv.fini();
    });
  });

  it('a signalled entry of any context is reused in place', async () => {
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      const a = mkFence(k);
      const b = mkFence(k);
      const c = mkFence(k);
      await resv.lock(null);
      resv.reserveFences(2);
      resv.addFence(a, READ);
      resv.addFence(b, READ);
      a.signal();
      const max = resv.fences!.maxFences;
      resv.addFence(c, WRITE);
      expect(resv.entries().map((e) => e.fence)).toEqual([c, b]);
      expect(resv.fences!.maxFences).toBe(max);
      expect(a.refcount.read()).toBe(1);
      resv.unlock();
      for (const f of [a, b, c]) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
  });

  it('dma_resv_replace_fences swaps every entry of a context', async () => {
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      const ctx = dmaFenceContextAlloc(k, 1);
      const p1 = mkFence(k, ctx, 1);
      const keep = mkFence(k);
      const pt = mkFence(k);
      await resv.lock(null);
      resv.reserveFences(2);
      resv.addFence(p1, BOOKKEEP);
      resv.addFence(keep, READ);
      resv.replaceFences(ctx, pt, BOOKKEEP);
      expect(resv.entries()).toEqual([
        { fence: pt, usage: BOOKKEEP },
        { fence: keep, usage: READ },
      ]);
      expect(p1.refcount.read()).toBe(1);
      expect(pt.refcount.read()).toBe(2);
      resv.unlock();
      for (const f of [p1, keep, pt]) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
  });

  it('adding a container WARNs (resv.add_container)', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const a = mkFence(k);
      const b = mkFence(k);
      const arr = dmaFenceArrayCreate(k, 2, [a, b], dmaFenceContextAlloc(k, 1), 1, false)!;
      await resv.lock(null);
      resv.reserveFences(1);
      resv.addFence(arr, READ);
      resv.unlock();
      a.signal();
      b.signal();
      arr.put();
      resv.fini();
    });
    expect(rules(r)).toContain('resv.add_container');
  });

  it('changes without the lock are reported (resv.not_locked)', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const f = mkFence(k);
      await resv.lock(null);
      resv.reserveFences(1);
      resv.unlock();
      expect(resv.reserveFences(1)).toBe(0);
      resv.addFence(f, READ);
      f.signal();
      f.put();
      resv.fini();
    });
    expect(rules(r).filter((x) => x === 'resv.not_locked').length).toBeGreaterThanOrEqual(2);
  });
});
