import { describe, expect, it } from 'vitest';
import { DmaResv, DmaResvUsage, kmallocSizeRoundup } from '../../src/resv/index.ts';
import { PrngChooser } from '../../src/kernel/index.ts';
import type { ChoiceKind } from '../../src/kernel/index.ts';
import { mkFence, rules, runOne } from './helpers.ts';

const { READ, WRITE } = DmaResvUsage;

/** Fails allocations at the named sites, never anything else. */
class FailAt extends PrngChooser {
  constructor(private readonly sites: string[]) {
    super(1);
  }

  override inject(kind: ChoiceKind, site?: string): boolean {
    return kind === 'alloc' && site !== undefined && this.sites.includes(site);
  }
}

describe('dma_resv fence slots', () => {
  it('kmalloc buckets decide the real capacity', () => {
    expect(kmallocSizeRoundup(24 + 8 * 4)).toBe(64);
    expect(kmallocSizeRoundup(97)).toBe(128);
    expect(kmallocSizeRoundup(8193)).toBe(16384);
  });

  it('first reservation max(4, pow2(n)) rounded to the bucket; growth max(num+n, 2*max); fast path', async () => {
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      await resv.lock(null);
      expect(resv.fences).toBeNull();
      expect(resv.reserveFences(1)).toBe(0);
      // 4 entries: 24 + 32 = 56 bytes, a 64-byte bucket, so 5 slots.
      expect(resv.fences!.maxFences).toBe(5);
      const first = resv.fences;
      expect(resv.reserveFences(5)).toBe(0);
      expect(resv.fences).toBe(first);
      const fs = Array.from({ length: 5 }, () => mkFence(k));
      for (const f of fs) resv.addFence(f, READ);
      // Full: 5 + 1 → max(6, 10) = 10 entries: 24 + 80 = 104 → 128-byte bucket → 13 slots.
      expect(resv.reserveFences(1)).toBe(0);
      expect(resv.fences).not.toBe(first);
      expect(resv.fences!.maxFences).toBe(13);
      expect(resv.fences!.numFences).toBe(5);
      // A first reservation of 9 asks for 16 entries: 24 + 128 = 152 → 192 → 21 slots.
      const other = new DmaResv(k);
      await other.lock(null);
      other.reserveFences(9);
      expect(other.fences!.maxFences).toBe(21);
      other.unlock();
      resv.unlock();
      for (const f of fs) {
        f.signal();
        f.put();
      }
      resv.fini();
      other.fini();
    });
  });

  it('growing compacts away signalled fences (packed in order) and drops their references', async () => {
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      const fs = Array.from({ length: 5 }, () => mkFence(k));
      await resv.lock(null);
      resv.reserveFences(5);
      fs.forEach((f, i) => {
        resv.addFence(f, i % 2 ? WRITE : READ);
      });
      fs[1]!.signal();
      fs[3]!.signal();
      expect(fs[1]!.refcount.read()).toBe(2);
      // 5 reserved → 8 entries asked, a 96-byte bucket: 9 slots; 5 + 5 does not fit, so a new table.
      expect(resv.fences!.maxFences).toBe(9);
      expect(resv.reserveFences(5)).toBe(0);
      expect(resv.entries()).toEqual([
        { fence: fs[0], usage: READ },
        { fence: fs[2], usage: READ },
        { fence: fs[4], usage: READ },
      ]);
      expect(fs[1]!.refcount.read()).toBe(1);
      expect(fs[3]!.refcount.read()).toBe(1);
      resv.unlock();
      for (const f of fs) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
  });

  it('n == 0 WARNs with -EINVAL; a failed allocation is -ENOMEM and leaves the table alone', async () => {
    const r = await runOne(
      async (k) => {
        const resv = new DmaResv(k);
        await resv.lock(null);
        expect(resv.reserveFences(0)).toBe(-22);
        expect(resv.reserveFences(2)).toBe(-12);
        expect(resv.fences).toBeNull();
        resv.unlock();
        resv.fini();
      },
      { chooser: new FailAt(['dma_resv_reserve_fences']) },
    );
    expect(rules(r)).toEqual(['resv.reserve_zero']);
  });

  it('adding without a reserved slot is a BUG that kills the thread (resv.add_without_reserve)', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      await resv.lock(null);
      resv.addFence(mkFence(k), READ);
      throw new Error('not reached');
    });
    expect(rules(r)).toContain('resv.add_without_reserve');
    expect(r.exits.get('test')).toBe(-1);
  });

  it('slots reserved under one lock hold are forgotten at unlock: reserve, unlock, lock, add is caught', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const a = mkFence(k);
      await resv.lock(null);
      resv.reserveFences(2);
      resv.addFence(a, READ);
      resv.unlock();
      // One slot was still reserved, but unlock reset max_fences to num_fences.
      expect(resv.fences!.maxFences).toBe(1);
      await resv.lock(null);
      resv.addFence(mkFence(k), READ);
    });
    expect(rules(r)).toContain('resv.add_without_reserve');
  });

  it('reserving and adding under the same hold is clean, whatever the number of holds', async () => {
    const r = await runOne(async (k) => {
      const resv = new DmaResv(k);
      const fs = [];
      for (let i = 0; i < 20; i++) {
        const f = mkFence(k);
        fs.push(f);
        await resv.lock(null);
        expect(resv.reserveFences(1)).toBe(0);
        resv.addFence(f, i % 3 === 0 ? WRITE : READ);
        resv.unlock();
        if (i % 2) f.signal();
      }
      for (const f of fs) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
    expect(rules(r)).toEqual([]);
  });
});
