import { describe, expect, it } from 'vitest';
import { DmaResv, DmaResvIter, DmaResvUsage, dmaResvUsageRw } from '../../src/resv/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { toDmaFenceArray } from '../../src/fence/index.ts';
import { mkFence, rules, runOne } from './helpers.ts';

const USAGES = [
  DmaResvUsage.KERNEL,
  DmaResvUsage.WRITE,
  DmaResvUsage.READ,
  DmaResvUsage.BOOKKEEP,
] as const;

describe('dma_resv usage classes', () => {
  it('dma_resv_usage_rw: a writer waits for readers (READ), a reader for writers (WRITE)', () => {
    expect(dmaResvUsageRw(true)).toBe(DmaResvUsage.READ);
    expect(dmaResvUsageRw(false)).toBe(DmaResvUsage.WRITE);
  });

  it('every iterator and query returns exactly the fences of the asked usage or stronger', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      // One unsignalled fence per usage, plus one signalled fence per usage.
      const live = new Map<number, DmaFence>();
      const done = new Map<number, DmaFence>();
      await resv.lock(null);
      expect(resv.reserveFences(8)).toBe(0);
      for (const u of USAGES) {
        const f = mkFence(k);
        const s = mkFence(k);
        live.set(u, f);
        done.set(u, s);
        resv.addFence(f, u);
        resv.addFence(s, u);
      }
      // Signalled only now: an add would reuse a signalled entry's slot.
      for (const s of done.values()) s.signal();
      expect(resv.fences!.numFences).toBe(8);
      for (const q of USAGES) {
        const wantLive = USAGES.filter((u) => u <= q).map((u) => live.get(u)!);
        const wantAll = USAGES.filter((u) => u <= q).flatMap((u) => [live.get(u)!, done.get(u)!]);

        // Locked iteration includes signalled fences.
        const c = new DmaResvIter(resv, q);
        const locked = [...c.locked()];
        expect(new Set(locked)).toEqual(new Set(wantAll));
        c.end();

        // Unlocked iteration skips signalled fences.
        const cu = new DmaResvIter(resv, q);
        const unlocked: DmaFence[] = [];
        for (const f of cu.unlocked()) {
          expect(cu.fenceUsage).toBeLessThanOrEqual(q);
          unlocked.push(f);
        }
        cu.end();
        expect(unlocked).toEqual(wantLive);

        const got = resv.getFences(q);
        expect(got).toEqual(wantLive);
        for (const f of got as DmaFence[]) f.put();

        expect(resv.testSignaled(q)).toBe(false);
        expect(await resv.waitTimeout(q, false, 0)).toBe(0);

        const single = resv.getSingleton(q);
        if (wantLive.length === 1) {
          expect(single).toBe(wantLive[0]);
        } else {
          const arr = toDmaFenceArray(single as DmaFence);
          expect(arr).not.toBeNull();
          expect(arr!.fences.slice(0, arr!.numFences)).toEqual(wantLive);
        }
        (single as DmaFence).put();
      }
      // describe prints KERNEL/WRITE/READ entries (signalled ones too), never BOOKKEEP.
      const text = resv.describe();
      expect(text.match(/\tkernel fence:/g)).toHaveLength(2);
      expect(text.match(/\twrite fence:/g)).toHaveLength(2);
      expect(text.match(/\tread fence:/g)).toHaveLength(2);
      expect(text).not.toContain('bookkeep');
      resv.unlock();

      // Once the KERNEL and WRITE fences signal, WRITE queries are idle but READ ones are not.
      live.get(DmaResvUsage.KERNEL)!.signal();
      live.get(DmaResvUsage.WRITE)!.signal();
      expect(resv.testSignaled(DmaResvUsage.WRITE)).toBe(true);
      expect(await resv.waitTimeout(DmaResvUsage.WRITE, false, 0)).toBe(1);
      expect(resv.getSingleton(DmaResvUsage.WRITE)).toBeNull();
      expect(resv.testSignaled(DmaResvUsage.READ)).toBe(false);
      expect(resv.getSingleton(DmaResvUsage.READ)).toBe(live.get(DmaResvUsage.READ));
      live.get(DmaResvUsage.READ)!.put();
      live.get(DmaResvUsage.READ)!.signal();
      live.get(DmaResvUsage.BOOKKEEP)!.signal();
      expect(resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(true);
      for (const f of [...live.values(), ...done.values()]) f.put();
      resv.fini();
    });
    expect(rules(r)).toEqual([]);
  });

  it('a locked walk without the lock is reported (resv.not_locked)', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const c = new DmaResvIter(resv, DmaResvUsage.BOOKKEEP);
      expect(c.first()).toBeNull();
    });
    expect(rules(r)).toContain('resv.not_locked');
  });
});
