import { describe, expect, it } from 'vitest';
import { Errno, msleep, PrngChooser } from '../../src/kernel/index.ts';
import type { ChoiceKind } from '../../src/kernel/index.ts';
import { DmaFence, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { DmaResv, DmaResvUsage } from '../../src/resv/index.ts';
import { checkedKernel, mkFence, rules, runOne } from './helpers.ts';

const { KERNEL, WRITE, READ, BOOKKEEP } = DmaResvUsage;

class FailAt extends PrngChooser {
  constructor(private readonly site: string) {
    super(1);
  }

  override inject(kind: ChoiceKind, site?: string): boolean {
    return kind === 'alloc' && site === this.site;
  }
}

describe('dma_resv queries', () => {
  it('dma_resv_copy_fences copies the unsignalled fences with their usage; an empty source empties dst', async () => {
    const r = await runOne(async (k) => {
      const src = new DmaResv(k);
      const dst = new DmaResv(k);
      const a = mkFence(k);
      const b = mkFence(k);
      const c = mkFence(k);
      await src.lock(null);
      src.reserveFences(3);
      src.addFence(a, KERNEL);
      src.addFence(b, BOOKKEEP);
      src.addFence(c, READ);
      src.unlock();
      c.signal();
      const old = mkFence(k);
      await dst.lock(null);
      dst.reserveFences(1);
      dst.addFence(old, WRITE);
      expect(dst.copyFences(src)).toBe(0);
      expect(dst.entries()).toEqual([
        { fence: a, usage: KERNEL },
        { fence: b, usage: BOOKKEEP },
      ]);
      expect(old.refcount.read()).toBe(1);
      a.signal();
      b.signal();
      expect(dst.copyFences(src)).toBe(0);
      expect(dst.fences).toBeNull();
      dst.unlock();
      for (const f of [a, b, c, old]) {
        f.signal();
        f.put();
      }
      src.fini();
      dst.fini();
    });
    expect(rules(r)).toEqual([]);
  });

  it('dma_resv_get_fences fails with -ENOMEM and holds nothing when its array cannot be allocated', async () => {
    await runOne(
      async (k) => {
        const resv = new DmaResv(k);
        const a = mkFence(k);
        await resv.lock(null);
        resv.reserveFences(1);
        resv.addFence(a, READ);
        resv.unlock();
        expect(resv.getFences(READ)).toBe(-Errno.ENOMEM);
        expect(resv.getSingleton(READ)).toBe(-Errno.ENOMEM);
        expect(a.refcount.read()).toBe(2);
        a.signal();
        a.put();
        resv.fini();
      },
      { chooser: new FailAt('dma_resv_get_fences') },
    );
  });

  it('dma_resv_set_deadline reaches every unsignalled fence of the usage', async () => {
    const deadlines: number[] = [];
    const ops: DmaFenceOps = {
      getDriverName: () => 'dl',
      getTimelineName: () => 'dl',
      setDeadline: (f, ns) => deadlines.push(f.seqno * 1000 + ns),
    };
    await runOne(async (k) => {
      const resv = new DmaResv(k);
      const ctx = dmaFenceContextAlloc(k, 3);
      const fs = [
        new DmaFence(k, ops, null, ctx, 1),
        new DmaFence(k, ops, null, ctx + 1, 2),
        new DmaFence(k, ops, null, ctx + 2, 3),
      ];
      await resv.lock(null);
      resv.reserveFences(3);
      resv.addFence(fs[0]!, WRITE);
      resv.addFence(fs[1]!, READ);
      resv.addFence(fs[2]!, BOOKKEEP);
      resv.unlock();
      resv.setDeadline(READ, 5);
      for (const f of fs) {
        f.signal();
        f.put();
      }
      resv.fini();
    });
    expect(deadlines).toEqual([1005, 2005]);
  });

  it('dma_resv_wait_timeout: remaining jiffies, 0 on timeout, -ERESTARTSYS when interrupted', async () => {
    const k = checkedKernel();
    const resv = new DmaResv(k);
    const results: number[] = [];
    const a = mkFence(k);
    const b = mkFence(k);
    const waiter = k.kthreadRun('waiter', async () => {
      await resv.lock(null);
      resv.reserveFences(2);
      resv.addFence(a, WRITE);
      resv.addFence(b, READ);
      resv.unlock();
      // t = 0..10: a is busy, times out.
      results.push(await resv.waitTimeout(WRITE, false, 10));
      // t = 10: a signals at 30 → 80 jiffies left.
      results.push(await resv.waitTimeout(WRITE, false, 100));
      // b (READ) is still busy: zero timeout reports busy, WRITE idle reports 1.
      results.push(await resv.waitTimeout(READ, false, 0));
      results.push(await resv.waitTimeout(WRITE, false, 0));
      // t = 30: interruptible wait on b, signal at 50.
      results.push(await resv.waitTimeout(READ, true, Number.POSITIVE_INFINITY));
      b.signal();
      a.put();
      b.put();
      resv.fini();
    });
    k.kthreadRun('other', async () => {
      await msleep(k, 29);
      a.signal();
      await msleep(k, 19);
      k.sendSignal(waiter);
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(rules(r)).toEqual([]);
    expect(results).toEqual([0, 80, 0, 1, -Errno.ERESTARTSYS]);
  });
});
